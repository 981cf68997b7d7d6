// vm.connect(port): a socket to a guest TCP port (its fd, which JS wraps in
// a net.Socket); vm.exposeTcp(guestPort, hostIp, hostPort): a host port
// forwarded to it for as long as the VM runs.
#include "convert.h"
#include "runner.h"
#include "vm.h"

#include <unistd.h>

namespace sm_node {

namespace {
uint16_t Port(const Napi::Value &v, const char *what)
{
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (d < 0 || d > 65535 || d != (double)(int)d)
        throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a port number (0 to 65535)");
    return (uint16_t)d;
}
}  // namespace

Napi::Value Vm::Connect(const Napi::CallbackInfo &info)
{
    std::shared_ptr<VmHandle> h = h_;
    uint16_t port = Port(info[0], "port");
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
    uint16_t guest = Port(info[0], "guestPort");
    auto ip = std::make_shared<std::string>(info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "");
    auto port = std::make_shared<uint16_t>(info[2].IsUndefined() ? 0 : Port(info[2], "hostPort"));
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
