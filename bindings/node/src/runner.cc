#include "runner.h"

#include <errno.h>

#include <chrono>
#include <deque>
#include <system_error>
#include <thread>

#include "addon.h"
#include "errors.h"
#include "supermachine.h"

namespace sm_node {

namespace {

thread_local std::string own_sentence;

struct Pending {
    std::function<int()> run;
    std::function<Napi::Value(Napi::Env)> value;
    std::function<void()> after;
    std::shared_ptr<Guard> guard;
    Napi::Promise::Deferred deferred;
    int err = 0;
    std::string sentence;
    bool going_on = false;  // after() runs: the call is not done at its settle
};

void Drained(Napi::Env env, Napi::Function, Runner *runner, void *);

}  // namespace

// Threads are made as calls need them (every call in flight has one, so
// that 32 execs at once run at once) and end after a while idle. They are
// not capped: a call may wait for another (an exec reading what a second
// one writes, a spawned command's wait and the writes to its stdin), and
// calls queued behind a cap would wait for ever. Where the process can
// make no more threads, a call is refused (Queue).
class Runner : public std::enable_shared_from_this<Runner> {
public:
    using Tsfn = Napi::TypedThreadSafeFunction<Runner, void, Drained>;

    explicit Runner(Napi::Env env)
    {
        tsfn_ = Tsfn::New(env, "supermachine", 0, 1, this);
        tsfn_.Unref(env);  // only calls in flight keep the process alive
    }

    // False, and p left to the caller, when the call needs a thread and
    // none can be made (the process is at its limit): std::thread throws
    // then, and that exception, let through N-API, would abort Node.
    bool Queue(Napi::Env env, std::unique_ptr<Pending> &p)
    {
        {
            std::lock_guard<std::mutex> l(mu_);
            // A thread woken but not yet at work still counts as idle:
            // compare with what waits, not with zero.
            if (todo_.size() >= (size_t)idle_) {
                try {
                    std::thread([self = shared_from_this()] { self->Work(); }).detach();
                } catch (const std::system_error &) {
                    return false;
                }
                idle_++;
            }
            todo_.push_back(std::move(p));
            cv_.notify_one();
        }
        if (pending_++ == 0)
            tsfn_.Ref(env);
        return true;
    }

    void Drain(Napi::Env env)
    {
        std::deque<std::function<void(Napi::Env)>> posted;
        {
            std::lock_guard<std::mutex> l(mu_);
            posted.swap(posted_);
        }
        for (auto &fn : posted) {
            Napi::HandleScope scope(env);
            // A listener that throws (a 'data' handler, called by push)
            // is Node's uncaught exception, as from any event, and the
            // rest of the batch (other calls' ends) still runs.
            try {
                fn(env);
            } catch (const Napi::Error &e) {
                napi_fatal_exception(env, e.Value());
            }
        }
    }

    // Any thread. Under the lock, so that Close cannot come between the
    // check and the call: after it the function is gone.
    bool Post(std::function<void(Napi::Env)> fn)
    {
        std::lock_guard<std::mutex> l(mu_);
        if (closing_)
            return false;
        posted_.push_back(std::move(fn));
        tsfn_.NonBlockingCall();
        return true;
    }

    bool Closing()
    {
        std::lock_guard<std::mutex> l(mu_);
        return closing_;
    }

    // The environment is going away: calls still running finish unheard.
    // (Node frees every thread-safe function then, whoever holds it: no
    // thread may touch ours after this.)
    void Close()
    {
        std::lock_guard<std::mutex> l(mu_);
        closing_ = true;
        cv_.notify_all();
    }

private:
    void Work()
    {
        std::unique_lock<std::mutex> l(mu_);
        for (;;) {
            if (todo_.empty() && !closing_)
                cv_.wait_for(l, std::chrono::seconds(30));
            if (todo_.empty() || closing_)
                break;
            std::unique_ptr<Pending> p = std::move(todo_.front());
            todo_.pop_front();
            idle_--;
            l.unlock();
            int err = p->run();
            if (err < 0) {
                p->err = err;
                p->sentence = own_sentence.empty() ? sm_last_error() : own_sentence;
            }
            own_sentence.clear();
            if (p->guard)
                p->guard->Leave();
            std::function<void()> after = err < 0 ? nullptr : std::move(p->after);
            p->going_on = after != nullptr;
            std::shared_ptr<Pending> done(std::move(p));
            Post([this, done](Napi::Env env) { Settle(env, *done); });
            if (after) {
                after();
                Post([this](Napi::Env env) { Done(env); });
            }
            l.lock();
            idle_++;
        }
        idle_--;
    }

    void Settle(Napi::Env env, Pending &p)
    {
        try {
            if (p.err)
                throw LibraryError(env, p.err, p.sentence);
            p.deferred.Resolve(p.value ? p.value(env) : env.Undefined());
        } catch (const Napi::Error &e) {
            p.deferred.Reject(e.Value());
        }
        if (!p.going_on)
            Done(env);
    }

    void Done(Napi::Env env)
    {
        if (--pending_ == 0)
            tsfn_.Unref(env);
    }

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Pending>> todo_;
    std::deque<std::function<void(Napi::Env)>> posted_;
    int idle_ = 0;
    bool closing_ = false;
    size_t pending_ = 0;  // the JS thread's count of unsettled calls
    Tsfn tsfn_;
};

namespace {

void Drained(Napi::Env env, Napi::Function, Runner *runner, void *)
{
    if (env != nullptr)
        runner->Drain(env);
}

}  // namespace

Napi::Promise Submit(Napi::Env env, std::shared_ptr<Guard> guard, std::function<int()> run,
                     std::function<Napi::Value(Napi::Env)> value, std::function<void()> after)
{
    if (guard && !guard->Enter())
        return Settled(env, guard.get());
    auto p = std::make_unique<Pending>(Pending{std::move(run), std::move(value), std::move(after),
                                               guard, Napi::Promise::Deferred::New(env), 0,
                                               std::string(), false});
    Napi::Promise promise = p->deferred.Promise();
    if (!Data(env).runner->Queue(env, p)) {
        if (guard)
            guard->Leave();
        p->deferred.Reject(LibraryError(env, -EAGAIN,
                                        "no thread could be started for the call: the process "
                                        "is at its limit of threads (ulimit -u)").Value());
    }
    return promise;
}

Napi::Promise Settled(Napi::Env env, Guard *closed)
{
    auto d = Napi::Promise::Deferred::New(env);
    if (closed)
        d.Reject(LibraryError(env, closed->err(), closed->sentence()).Value());
    else
        d.Resolve(env.Undefined());
    return d.Promise();
}

int Fail(int err, std::string sentence)
{
    own_sentence = std::move(sentence);
    return err;
}

Post Poster(Napi::Env env)
{
    std::shared_ptr<Runner> r = Data(env).runner;
    return [r](std::function<void(Napi::Env)> fn) { return r->Post(std::move(fn)); };
}

Closing ClosingFlag(Napi::Env env)
{
    std::shared_ptr<Runner> r = Data(env).runner;
    return [r] { return r->Closing(); };
}

void StartRunner(Napi::Env env)
{
    auto runner = std::make_shared<Runner>(env);
    Data(env).runner = runner;
    // The runner itself outlives the environment: detached threads may
    // still be in a call when it goes.
    env.AddCleanupHook([runner] { runner->Close(); });
}

}  // namespace sm_node
