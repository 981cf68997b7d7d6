// The addon's entry: the native classes and the calls that make them.
// lib/ wraps these in the public API (errors and promises are made here;
// streams, sockets and disposal there).
#include "addon.h"

#include "exec_spec.h"
#include "image.h"
#include "pool.h"
#include "runner.h"
#include "supermachine.h"
#include "vm.h"

namespace sm_node {

Napi::Function DefineExec(Napi::Env env);  // exec_stream.cc

Napi::Object Init(Napi::Env env, Napi::Object exports);

namespace {

Napi::Value Version(const Napi::CallbackInfo &info)
{
    return Napi::String::New(info.Env(), std::to_string(SM_VERSION_MAJOR) + "." +
                                             std::to_string(SM_VERSION_MINOR));
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports)
{
    env.SetInstanceData(new AddonData());
    StartRunner(env);
    AddonData &d = Data(env);
    d.image = Napi::Persistent(Image::Define(env));
    d.vm = Napi::Persistent(Vm::Define(env));
    d.pool = Napi::Persistent(Pool::Define(env));
    d.exec = Napi::Persistent(DefineExec(env));
    exports.Set("openImage", Napi::Function::New<Image::Open>(env, "openImage"));
    exports.Set("imageFromSnapshot", Napi::Function::New<Image::FromSnapshot>(env, "imageFromSnapshot"));
    exports.Set("startVm", Napi::Function::New<Vm::Start>(env, "startVm"));
    exports.Set("createPool", Napi::Function::New<Pool::Create>(env, "createPool"));
    exports.Set("version", Napi::Function::New<Version>(env, "version"));
    return exports;
}

}  // namespace sm_node

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports)
{
    return sm_node::Init(env, exports);
}

NODE_API_MODULE(supermachine, InitAddon)
