// vm.exec(argv, options): a command run to its end, its output kept.
#include "exec_spec.h"
#include "runner.h"
#include "vm.h"

namespace sm_node {

Napi::Value Vm::Exec(const Napi::CallbackInfo &info)
{
    std::shared_ptr<VmHandle> h = h_;
    auto spec = std::make_shared<ExecSpec>(info.Env(), info[0], info[1], false);
    auto result = std::make_shared<OwnedResult>();
    return Submit(
        info.Env(), h,
        [h, spec, result] {
            sm_exec ex = spec->Get();
            return sm_vm_exec(h->vm, &ex, &result->r);
        },
        [result](Napi::Env env) -> Napi::Value { return ExecResult(env, result->r, true); });
}

}  // namespace sm_node
