// vm.spawn(argv, options, onEvent): a command whose output comes as it is
// written. sm_exec_wait runs on a runner thread and calls the output
// callbacks there; each chunk is posted to JS through the runner's queue,
// and so is the end, so that JS hears the end after the last chunk.
//
// onEvent(1, Buffer) is stdout, onEvent(2, Buffer) stderr, and
// onEvent(0, error, result) the end. A chunk's onEvent returns false when
// its stream holds as much unread as it takes: the output waits then
// until JS calls resume(), as a writer to a full pipe waits for its
// reader, so that what the guest writes stays bounded in the host.
#include <errno.h>

#include <chrono>
#include <memory>

#include "addon.h"
#include "errors.h"
#include "exec_spec.h"
#include "runner.h"
#include "vm.h"

namespace sm_node {

namespace {

// Chunks on their way to JS at most; past that the output callback waits
// for JS, so that a fast writer in the guest cannot fill the host's memory
// before JS has run.
constexpr int kQueue = 64;

// One running command: its handle, what its sm_exec points at, and the
// way to JS. The Guard covers the handle: signal, write and close calls
// in flight hold it, and the end frees it only after they have returned.
struct Stream : Guard {
    Stream() : Guard(-ESRCH, "the process has ended") {}
    std::shared_ptr<VmHandle> vm;
    std::shared_ptr<ExecSpec> spec;
    sm_exec_handle *exec = nullptr;
    Post post;
    Closing closing;
    // Made and deleted on the JS thread only (at the end); left to Node
    // if the environment goes first.
    Napi::FunctionReference *on_event = nullptr;
    std::mutex mu;
    std::condition_variable cv;
    int queued = 0;
    bool paused = false;  // JS's streams are full: the last onEvent said so

    int Output(int kind, const void *data, size_t len)
    {
        {
            std::unique_lock<std::mutex> l(mu);
            // Not paused once the VM is stopping: its stop waits for this
            // call to return, and the guest writes no more.
            while ((queued >= kQueue || (paused && !vm->Closed())) && !closing())
                cv.wait_for(l, std::chrono::milliseconds(100));
            queued++;
        }
        auto chunk = std::make_shared<std::string>(static_cast<const char *>(data), len);
        bool ok = post([this, kind, chunk](Napi::Env env) {
            {
                std::lock_guard<std::mutex> l(mu);
                queued--;
                cv.notify_all();
            }
            bool more = on_event->Call({Napi::Number::New(env, kind),
                                        Napi::Buffer<char>::Copy(env, chunk->data(), chunk->size())})
                            .ToBoolean();
            std::lock_guard<std::mutex> l(mu);
            paused = !more;
        });
        return ok ? 0 : -ECANCELED;  // Node is going away: stop the command
    }
    static int Stdout(void *ctx, const void *data, size_t len)
    {
        return static_cast<Stream *>(ctx)->Output(1, data, len);
    }
    static int Stderr(void *ctx, const void *data, size_t len)
    {
        return static_cast<Stream *>(ctx)->Output(2, data, len);
    }

    // The end, once: its error or result to JS, and the callback let go.
    void End(std::shared_ptr<Stream> self, int err, std::string sentence,
             std::shared_ptr<OwnedResult> result)
    {
        post([self, err, sentence, result](Napi::Env env) {
            Napi::Value kind = Napi::Number::New(env, 0);
            std::unique_ptr<Napi::FunctionReference> cb(self->on_event);  // even if it throws
            self->on_event = nullptr;
            if (err)
                cb->Call({kind, LibraryError(env, err, sentence).Value()});
            else
                cb->Call({kind, env.Null(), ExecResult(env, result->r, false)});
        });
    }

    // On a runner thread, holding a lease on the VM (so that vm.stop()
    // ends the command first).
    void Wait(std::shared_ptr<Stream> self)
    {
        auto result = std::make_shared<OwnedResult>();
        int err = sm_exec_wait(exec, &result->r);
        std::string sentence = err < 0 ? sm_last_error() : "";
        Close();
        AwaitIdle();
        sm_exec_free(exec);
        exec = nullptr;
        End(self, err < 0 ? err : 0, sentence, result);
    }
};

class Exec : public Napi::ObjectWrap<Exec> {
public:
    explicit Exec(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Exec>(info)
    {
        s_ = *info[0].As<Napi::External<std::shared_ptr<Stream>>>().Data();
    }

    static Napi::Function Define(Napi::Env env)
    {
        return DefineClass(env, "NativeExec",
                           {InstanceMethod<&Exec::Signal>("signal"),
                            InstanceMethod<&Exec::Write>("write"),
                            InstanceMethod<&Exec::CloseStdin>("closeStdin"),
                            InstanceMethod<&Exec::Resize>("resize"),
                            InstanceMethod<&Exec::Resume>("resume")});
    }

private:
    Napi::Value Signal(const Napi::CallbackInfo &info)
    {
        int signo = info[0].IsString() ? sm_signal_parse(info[0].As<Napi::String>().Utf8Value().c_str())
                                       : info[0].ToNumber().Int32Value();
        if (signo <= 0)
            throw ArgumentError(info.Env(), "not a signal: " + info[0].ToString().Utf8Value());
        auto s = s_;
        return Submit(info.Env(), s, [s, signo] { return sm_exec_signal(s->exec, signo); });
    }
    Napi::Value Write(const Napi::CallbackInfo &info)
    {
        auto s = s_;
        auto data = std::make_shared<std::string>(Bytes(info[0], "data"));
        return Submit(info.Env(), s,
                      [s, data] { return sm_exec_write_stdin(s->exec, data->data(), data->size()); });
    }
    Napi::Value CloseStdin(const Napi::CallbackInfo &info)
    {
        auto s = s_;
        return Submit(info.Env(), s, [s] { return sm_exec_close_stdin(s->exec); });
    }
    Napi::Value Resize(const Napi::CallbackInfo &info)
    {
        auto s = s_;
        uint16_t rows = (uint16_t)Uint(info[0], "The \"rows\" argument", 65535);
        uint16_t cols = (uint16_t)Uint(info[1], "The \"cols\" argument", 65535);
        return Submit(info.Env(), s, [s, rows, cols] { return sm_exec_resize(s->exec, rows, cols); });
    }
    // JS's streams have room again: the output goes on.
    Napi::Value Resume(const Napi::CallbackInfo &info)
    {
        std::lock_guard<std::mutex> l(s_->mu);
        s_->paused = false;
        s_->cv.notify_all();
        return info.Env().Undefined();
    }

    std::shared_ptr<Stream> s_;
};

}  // namespace

Napi::Function DefineExec(Napi::Env env)
{
    return Exec::Define(env);
}

Napi::Value Vm::Spawn(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    auto s = std::make_shared<Stream>();
    s->vm = h_;
    s->spec = std::make_shared<ExecSpec>(env, info[0], info[1], true);
    if (!info[2].IsFunction())
        throw ArgumentError(env, "spawn needs an event callback");
    // One lease on the VM from here to the end of the wait (so that
    // vm.stop() ends the command first); taken by hand, as it passes from
    // the start to the wait.
    if (!h_->Enter())
        return Settled(env, h_.get());  // the VM's error
    s->post = Poster(env);
    s->closing = ClosingFlag(env);
    s->on_event = new Napi::FunctionReference(Napi::Persistent(info[2].As<Napi::Function>()));
    return Submit(
        env, nullptr,
        [s] {
            sm_exec ex = s->spec->Get();
            ex.on_stdout = Stream::Stdout;
            ex.on_stderr = Stream::Stderr;
            ex.ctx = s.get();
            int err = sm_vm_exec_start(s->vm->vm, &ex, &s->exec);
            if (err < 0) {
                // The start's rejection says why; the end says it too,
                // so that the streams end.
                s->End(s, err, sm_last_error(), nullptr);
                s->vm->Leave();
            }
            return err;
        },
        [s](Napi::Env e) -> Napi::Value {
            std::shared_ptr<Stream> held = s;
            return Data(e).exec.New({Napi::External<std::shared_ptr<Stream>>::New(e, &held)});
        },
        [s] {
            s->Wait(s);
            s->vm->Leave();
        });
}

}  // namespace sm_node
