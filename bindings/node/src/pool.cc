#include "pool.h"

#include <errno.h>

#include <algorithm>
#include <thread>

#include "addon.h"
#include "convert.h"
#include "errors.h"
#include "runner.h"
#include "vm_config.h"

namespace sm_node {

namespace {
using HandlePtr = std::shared_ptr<PoolHandle>;
}

PoolHandle::PoolHandle() : Guard(-EBADF, "the pool was closed (pool.close())") {}

PoolHandle::~PoolHandle()
{
    // Collected without close(): no VM of it is left (each holds the
    // pool), so only the library's pool remains to free, off the JS thread.
    if (pool)
        std::thread([p = pool, img = image] { sm_pool_free(p); }).detach();
}

int PoolHandle::Acquire(const HandlePtr &self, std::shared_ptr<VmHandle> *out)
{
    {
        std::lock_guard<std::mutex> l(mu_);
        if (freeing_)
            return Fail(-ECANCELED, "the pool was closed (pool.close())");
    }
    sm_vm *vm = nullptr;
    int err = sm_pool_acquire(pool, &vm);
    std::string sentence = err ? sm_last_error() : "";
    std::lock_guard<std::mutex> l(mu_);
    if (freeing_) {
        // Cancelled by the close, or served just before it: this one goes
        // back too (the closed pool stops it).
        if (!err)
            sm_pool_release(pool, vm);
        return Fail(-ECANCELED, "the pool was closed (pool.close())");
    }
    if (err)
        return Fail(err, sentence);
    *out = std::make_shared<VmHandle>(vm);
    (*out)->pool = self;
    acquired_.push_back(*out);
    return 0;
}

int PoolHandle::Release(VmHandle *vm)
{
    std::lock_guard<std::mutex> l(mu_);
    acquired_.erase(std::remove_if(acquired_.begin(), acquired_.end(),
                                   [vm](const std::weak_ptr<VmHandle> &w) {
                                       auto v = w.lock();
                                       return !v || v.get() == vm;
                                   }),
                    acquired_.end());
    if (freeing_ || !vm->vm)
        return 0;  // the pool's free stops it
    int err = sm_pool_release(pool, vm->vm);
    vm->vm = nullptr;
    return err;
}

void PoolHandle::Free()
{
    std::vector<std::shared_ptr<VmHandle>> vms;
    {
        std::lock_guard<std::mutex> l(mu_);
        freeing_ = true;
        for (auto &w : acquired_)
            if (auto v = w.lock())
                vms.push_back(v);
    }
    // Calls in flight in acquired VMs end before the pool frees them.
    for (auto &v : vms) {
        v->Close("VM " + v->id.substr(0, 12) + " ended with its pool (pool.close())");
        v->Drain();
    }
    // Acquires inside the library, or about to enter it, return at once
    // from a closed pool; the pool is freed once they have. (No acquire
    // starts now: the Guard was closed before this ran.)
    sm_pool_close(pool);
    AwaitIdle();
    sm_pool_free(pool);
    pool = nullptr;
    for (auto &v : vms)
        v->vm = nullptr;
}

Napi::Function Pool::Define(Napi::Env env)
{
    return DefineClass(env, "NativePool",
                       {InstanceMethod<&Pool::Acquire>("acquire"),
                        InstanceMethod<&Pool::Stats>("stats"),
                        InstanceMethod<&Pool::Close>("close")});
}

Pool::Pool(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Pool>(info)
{
    if (info.Length() != 1 || !info[0].IsExternal())
        throw Napi::TypeError::New(info.Env(), "pools come from Pool.create");
    h_ = *info[0].As<Napi::External<HandlePtr>>().Data();
}

Napi::Value Pool::Create(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    auto h = std::make_shared<PoolHandle>();
    h->image = Image::From(info[0]);
    Napi::Object o = Options(env, info[1], "options");
    sm_pool_config c = SM_POOL_CONFIG_INIT;
    c.min = (unsigned)OptUint(o, "min", 0, UINT32_MAX);
    c.max = (unsigned)OptUint(o, "max", 0, UINT32_MAX);
    c.idle_timeout_ms = (uint32_t)OptUint(o, "idleTimeout", 0, UINT32_MAX);
    c.acquire_timeout_ms = (uint32_t)OptUint(o, "acquireTimeout", 0, UINT32_MAX);
    c.max_parallel_starts = (unsigned)OptUint(o, "maxParallelStarts", 0, UINT32_MAX);
    auto vm = std::make_shared<VmConfig>(env, o.Get("vm"));
    return Submit(
        env, nullptr,
        [h, c, vm]() mutable {
            c.vm = vm->get();  // copied by sm_pool_new
            return sm_pool_new(h->image->image, &c, &h->pool);
        },
        [h](Napi::Env e) -> Napi::Value {
            HandlePtr held = h;
            return Data(e).pool.New({Napi::External<HandlePtr>::New(e, &held)});
        });
}

Napi::Value Pool::Acquire(const Napi::CallbackInfo &info)
{
    HandlePtr h = h_;
    auto out = std::make_shared<std::shared_ptr<VmHandle>>();
    return Submit(
        info.Env(), h, [h, out] { return h->Acquire(h, out.get()); },
        [out](Napi::Env env) -> Napi::Value { return Vm::New(env, *out); });
}

Napi::Value Pool::Stats(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    // A lock held for a moment: no need for a thread.
    sm_pool_stats s = SM_POOL_STATS_INIT;
    if (h_->Closed())
        throw LibraryError(env, h_->err(), h_->sentence());
    int err = sm_pool_get_stats(h_->pool, &s);
    if (err < 0)
        throw LibraryError(env, err, sm_last_error());
    Napi::Object o = Napi::Object::New(env);
    o.Set("idle", Napi::Number::New(env, (double)s.idle));
    o.Set("acquired", Napi::Number::New(env, (double)s.acquired));
    o.Set("starting", Napi::Number::New(env, (double)s.starting));
    o.Set("stopping", Napi::Number::New(env, (double)s.stopping));
    o.Set("waiting", Napi::Number::New(env, (double)s.waiting));
    o.Set("started", Napi::Number::New(env, (double)s.started));
    o.Set("acquisitions", Napi::Number::New(env, (double)s.acquisitions));
    o.Set("discarded", Napi::Number::New(env, (double)s.discarded));
    o.Set("expired", Napi::Number::New(env, (double)s.expired));
    o.Set("failedStarts", Napi::Number::New(env, (double)s.failed_starts));
    o.Set("timeouts", Napi::Number::New(env, (double)s.timeouts));
    return o;
}

Napi::Value Pool::Close(const Napi::CallbackInfo &info)
{
    HandlePtr h = h_;
    if (!h->Close())
        return Settled(info.Env());  // closed already
    return Submit(info.Env(), nullptr, [h] {
        h->Free();
        return 0;
    });
}

}  // namespace sm_node
