// vm.writeFile(path, data, mode, mkdirs) and vm.readFile(path, max): whole
// files in the guest, carried by the agent.
#include "convert.h"
#include "runner.h"
#include "vm.h"

namespace sm_node {

Napi::Value Vm::WriteFile(const Napi::CallbackInfo &info)
{
    std::shared_ptr<VmHandle> h = h_;
    auto path = std::make_shared<std::string>(String(info[0], "path"));
    auto data = std::make_shared<std::string>(Bytes(info[1], "data"));
    uint32_t mode = (uint32_t)OptUint(info[2], "The \"mode\" option", 0, UINT32_MAX);
    int flags = info[3].ToBoolean().Value() ? SM_FILE_MKDIRS : 0;
    return Submit(info.Env(), h, [h, path, data, mode, flags] {
        return sm_vm_write_file(h->vm, path->c_str(), data->data(), data->size(), mode, flags);
    });
}

namespace {
struct Bytes {
    void *data = nullptr;
    size_t len = 0;
    ~Bytes() { sm_free(data); }
};
}  // namespace

Napi::Value Vm::ReadFile(const Napi::CallbackInfo &info)
{
    std::shared_ptr<VmHandle> h = h_;
    auto path = std::make_shared<std::string>(String(info[0], "path"));
    size_t max = (size_t)OptUint(info[1], "The \"maxBytes\" option", 0, SIZE_MAX >> 1);
    auto out = std::make_shared<struct Bytes>();
    return Submit(
        info.Env(), h,
        [h, path, max, out] { return sm_vm_read_file(h->vm, path->c_str(), max, &out->data, &out->len); },
        [out](Napi::Env env) -> Napi::Value {
            // A copy: the library's bytes are freed by sm_free, which an
            // external Buffer's finalizer could do, but V8's sandbox (in
            // Electron) refuses external buffers.
            return Napi::Buffer<char>::Copy(env, static_cast<char *>(out->data), out->len);
        });
}

}  // namespace sm_node
