// vm.connect(port): a socket to a guest TCP port (its fd, which JS wraps in
// a net.Socket); vm.exposeTcp(guestPort, hostIp, hostPort): a host port
// forwarded to it for as long as the VM runs.
#include "convert.h"
#include "runner.h"
#include "vm.h"

#include <unistd.h>

namespace sm_node {

Napi::Value Vm::Connect(const Napi::CallbackInfo &info)
{
    std::shared_ptr<VmHandle> h = h_;
    uint16_t port = (uint16_t)Uint(info[0], "The \"port\" argument", 65535);
    // An fd the promise never hands over (Node going away) is closed.
    auto fd = std::shared_ptr<int>(new int(-1), [](int *p) {
        if (*p >= 0)
            close(*p);
        delete p;
    });
    return Submit(
        info.Env(), h, [h, port, fd] { return sm_vm_connect(h->vm, port, fd.get()); },
        [fd](Napi::Env env) -> Napi::Value {
            Napi::Number n = Napi::Number::New(env, *fd);
            *fd = -1;  // JS owns it now
            return n;
        });
}

Napi::Value Vm::ExposeTcp(const Napi::CallbackInfo &info)
{
    std::shared_ptr<VmHandle> h = h_;
    uint16_t guest = (uint16_t)Uint(info[0], "The \"guestPort\" argument", 65535);
    auto ip = std::make_shared<std::string>(info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "");
    auto port = std::make_shared<uint16_t>(OptUint(info[2], "The \"port\" option", 0, 65535));
    return Submit(
        info.Env(), h,
        [h, guest, ip, port] {
            return sm_vm_expose_tcp(h->vm, ip->empty() ? nullptr : ip->c_str(), port.get(), guest);
        },
        [ip, port](Napi::Env env) -> Napi::Value {
            Napi::Object o = Napi::Object::New(env);
            o.Set("host", ip->empty() ? "127.0.0.1" : *ip);
            o.Set("port", Napi::Number::New(env, *port));
            return o;
        });
}

}  // namespace sm_node
