// Vm: a running VM (sm_vm). Calls on it run on runner threads, several at
// once (the library's handles are thread-safe); its Guard keeps the handle
// until the last of them has returned.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "guard.h"
#include "supermachine.h"

namespace sm_node {

struct PoolHandle;

struct VmHandle : Guard {
    explicit VmHandle(sm_vm *v);
    ~VmHandle();
    sm_vm *vm;
    std::string id, dir;
    // Acquired from a pool: given back to it (sm_pool_release), not stopped.
    std::shared_ptr<PoolHandle> pool;

    // On a runner thread, after Close(): end the calls in flight (by
    // stopping the guest under them) and wait until they have returned.
    void Drain();
};

class Vm : public Napi::ObjectWrap<Vm> {
public:
    static Napi::Function Define(Napi::Env env);
    static Napi::Object New(Napi::Env env, std::shared_ptr<VmHandle> h);
    // native.startVm(image | null, config): a promise of a Vm.
    static Napi::Value Start(const Napi::CallbackInfo &info);

    explicit Vm(const Napi::CallbackInfo &info);

private:
    Napi::Value Id(const Napi::CallbackInfo &info);
    Napi::Value Dir(const Napi::CallbackInfo &info);
    Napi::Value Restored(const Napi::CallbackInfo &info);
    Napi::Value Stop(const Napi::CallbackInfo &info);
    Napi::Value Snapshot(const Napi::CallbackInfo &info);
    Napi::Value Exec(const Napi::CallbackInfo &info);        // exec.cc
    Napi::Value Spawn(const Napi::CallbackInfo &info);       // exec_stream.cc
    Napi::Value WriteFile(const Napi::CallbackInfo &info);   // vm_files.cc
    Napi::Value ReadFile(const Napi::CallbackInfo &info);
    Napi::Value Connect(const Napi::CallbackInfo &info);     // vm_net.cc
    Napi::Value ExposeTcp(const Napi::CallbackInfo &info);

    std::shared_ptr<VmHandle> h_;
    int restored_ = 0;
};

}  // namespace sm_node
