// Pool: VMs started ahead (sm_pool). Acquired VMs are Vm objects whose
// stop() gives them back; closing the pool ends them all.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <vector>

#include "guard.h"
#include "image.h"
#include "vm.h"

namespace sm_node {

struct PoolHandle : Guard {
    PoolHandle();
    ~PoolHandle();
    sm_pool *pool = nullptr;
    std::shared_ptr<ImageHandle> image;  // the library wants it to outlive the pool

    // On runner threads: an acquire (holding a lease on the Guard, which
    // Free waits for), a release, the free; see pool.cc.
    int Acquire(const std::shared_ptr<PoolHandle> &self, std::shared_ptr<VmHandle> *out);
    int Release(VmHandle *vm);
    void Free();

private:
    std::mutex mu_;
    std::vector<std::weak_ptr<VmHandle>> acquired_;
    bool freeing_ = false;
};

class Pool : public Napi::ObjectWrap<Pool> {
public:
    static Napi::Function Define(Napi::Env env);
    // native.createPool(image, options): a promise of a Pool.
    static Napi::Value Create(const Napi::CallbackInfo &info);

    explicit Pool(const Napi::CallbackInfo &info);

private:
    Napi::Value Acquire(const Napi::CallbackInfo &info);
    Napi::Value Stats(const Napi::CallbackInfo &info);
    Napi::Value Close(const Napi::CallbackInfo &info);

    std::shared_ptr<PoolHandle> h_;
};

}  // namespace sm_node
