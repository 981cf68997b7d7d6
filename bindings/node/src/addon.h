// What the addon keeps per Node environment (main thread or worker):
// the runner and the constructors of its classes.
#pragma once
#include <napi.h>

#include <memory>

namespace sm_node {

class Runner;

struct AddonData {
    std::shared_ptr<Runner> runner;
    Napi::FunctionReference image, vm, pool, exec;
};

inline AddonData &Data(Napi::Env env)
{
    return *env.GetInstanceData<AddonData>();
}

}  // namespace sm_node
