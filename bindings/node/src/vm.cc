#include "vm.h"

#include <errno.h>
#include <signal.h>

#include <thread>

#include "addon.h"
#include "convert.h"
#include "errors.h"
#include "image.h"
#include "pool.h"
#include "runner.h"
#include "vm_config.h"

namespace sm_node {

namespace {
using HandlePtr = std::shared_ptr<VmHandle>;
}

VmHandle::VmHandle(sm_vm *v)
    : Guard(-ESRCH, ""), vm(v), id(sm_vm_id(v)), dir(sm_vm_dir(v))
{
}

void VmHandle::Drain()
{
    // A call in flight may wait for the guest for ever (an exec without
    // a timeout): stopping the guest makes it return.
    if (Busy())
        sm_vm_shutdown(vm, SIGKILL, 0);
    AwaitIdle();
}

VmHandle::~VmHandle()
{
    // The Vm was collected without stop(): end it anyway, off the JS
    // thread (stopping waits for the worker process).
    if (Closed() || !vm)
        return;
    if (pool)
        pool->Release(this);
    else
        std::thread([v = vm] { sm_vm_stop(v); }).detach();
}

Napi::Function Vm::Define(Napi::Env env)
{
    return DefineClass(env, "NativeVm",
                       {InstanceMethod<&Vm::Id>("id"), InstanceMethod<&Vm::Dir>("dir"),
                        InstanceMethod<&Vm::Restored>("restored"),
                        InstanceMethod<&Vm::Stop>("stop"),
                        InstanceMethod<&Vm::Snapshot>("snapshot"),
                        InstanceMethod<&Vm::Exec>("exec"), InstanceMethod<&Vm::Spawn>("spawn"),
                        InstanceMethod<&Vm::WriteFile>("writeFile"),
                        InstanceMethod<&Vm::ReadFile>("readFile"),
                        InstanceMethod<&Vm::Connect>("connect"),
                        InstanceMethod<&Vm::ExposeTcp>("exposeTcp")});
}

Vm::Vm(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Vm>(info)
{
    if (info.Length() != 1 || !info[0].IsExternal())
        throw Napi::TypeError::New(info.Env(), "VMs come from image.start, Vm.start or pool.acquire");
    h_ = *info[0].As<Napi::External<HandlePtr>>().Data();
    restored_ = sm_vm_restored(h_->vm);
}

Napi::Object Vm::New(Napi::Env env, HandlePtr h)
{
    return Data(env).vm.New({Napi::External<HandlePtr>::New(env, &h)});
}

Napi::Value Vm::Start(const Napi::CallbackInfo &info)
{
    Napi::Env env = info.Env();
    std::shared_ptr<ImageHandle> img;
    if (!info[0].IsNull() && !info[0].IsUndefined())
        img = Image::From(info[0]);
    auto cfg = std::make_shared<VmConfig>(env, info[1]);
    // The handle is made as soon as the VM runs: a start whose promise is
    // never settled (Node tearing the environment down) drops it, and its
    // destructor stops the VM rather than leaving its worker running.
    auto out = std::make_shared<HandlePtr>();
    return Submit(
        env, nullptr,
        [img, cfg, out] {
            sm_vm *vm = nullptr;
            int err = sm_vm_start(img ? img->image : nullptr, cfg->get(), &vm);
            if (vm)
                *out = std::make_shared<VmHandle>(vm);
            return err;
        },
        [out](Napi::Env e) -> Napi::Value { return New(e, *out); });
}

Napi::Value Vm::Id(const Napi::CallbackInfo &info)
{
    return Napi::String::New(info.Env(), h_->id);
}

Napi::Value Vm::Dir(const Napi::CallbackInfo &info)
{
    return Napi::String::New(info.Env(), h_->dir);
}

Napi::Value Vm::Restored(const Napi::CallbackInfo &info)
{
    return Napi::Boolean::New(info.Env(), restored_);
}

Napi::Value Vm::Stop(const Napi::CallbackInfo &info)
{
    HandlePtr h = h_;
    std::string gone = "VM " + h->id.substr(0, 12) +
                       (h->pool ? " was given back to its pool" : " was stopped") +
                       " (vm.stop()): start another";
    if (!h->Close(gone))
        return Settled(info.Env());  // stopped already
    return Submit(info.Env(), nullptr, [h] {
        h->Drain();
        if (h->pool)
            return h->pool->Release(h.get());
        int err = sm_vm_stop(h->vm);
        h->vm = nullptr;
        return err;
    });
}

Napi::Value Vm::Snapshot(const Napi::CallbackInfo &info)
{
    HandlePtr h = h_;
    auto dir = std::make_shared<std::string>(String(info[0], "dir"));
    bool diff = info[1].ToBoolean().Value();
    return Submit(info.Env(), h, [h, dir, diff] {
        return diff ? sm_vm_snapshot_diff(h->vm, dir->c_str()) : sm_vm_snapshot(h->vm, dir->c_str());
    });
}

}  // namespace sm_node
