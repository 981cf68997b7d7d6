#include "vm_config.h"

#include "convert.h"
#include "errors.h"

namespace sm_node {

namespace {

// Each element of an optional array of objects, with its index's name.
template <class F>
void Each(const Napi::Object &o, const char *key, F f)
{
    Napi::Value v = o.Get(key);
    if (v.IsUndefined() || v.IsNull())
        return;
    if (!v.IsArray())
        throw ArgumentError(o.Env(), std::string("The \"") + key + "\" option must be an array");
    Napi::Array a = v.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++)
        f(Options(o.Env(), a.Get(i), key));
}

sm_network Network(Napi::Env env, const std::optional<std::string> &s)
{
    if (!s || *s == "default")
        return SM_NETWORK_DEFAULT;
    if (*s == "user")
        return SM_NETWORK_USER;
    if (*s == "none")
        return SM_NETWORK_NONE;
    throw ArgumentError(env, "network is 'default', 'user' or 'none', not '" + *s + "'");
}

}  // namespace

const char *VmConfig::Keep(const std::optional<std::string> &s)
{
    return s ? Keep(*s) : nullptr;
}

VmConfig::VmConfig(Napi::Env env, const Napi::Value &v)
{
    Napi::Object o = Options(env, v, "config");
    c_.kernel = Keep(OptString(o, "kernel"));
    c_.initrd = Keep(OptString(o, "initrd"));
    c_.cmdline = Keep(OptString(o, "cmdline"));
    c_.memory_mib = (uint32_t)OptUint(o, "memoryMib", 0, UINT32_MAX);
    c_.cpus = (uint32_t)OptUint(o, "cpus", 0, UINT32_MAX);
    c_.start_timeout_ms = (uint32_t)OptUint(o, "startTimeout", 0, UINT32_MAX);
    c_.hostname = Keep(OptString(o, "hostname"));
    c_.network = Network(env, OptString(o, "network"));
    c_.upper_disk = Keep(OptString(o, "upperDisk"));
    c_.name = Keep(OptString(o, "name"));
    c_.snapshot = Keep(OptString(o, "snapshot"));
    c_.no_snapshot = OptBool(o, "noSnapshot");
    c_.read_only = OptBool(o, "readOnly");
    c_.root_dir = Keep(OptString(o, "rootDir"));
    c_.root_read_only = OptBool(o, "rootReadOnly");
    // docker's --cpus: 1.5 CPUs is 1500 thousandths.
    Napi::Value q = o.Get("cpuQuota");
    if (!q.IsUndefined() && !q.IsNull()) {
        double cpus = q.IsNumber() ? q.As<Napi::Number>().DoubleValue() : -1;
        if (!(cpus >= 0 && cpus <= UINT32_MAX / 1000))
            throw ArgumentError(env, "The \"cpuQuota\" option must be a number of CPUs from 0");
        c_.cpu_quota_milli = (uint32_t)(cpus * 1000 + 0.5);
    }
    Each(o, "disks", [&](const Napi::Object &d) {
        disks_.push_back({Keep(OptString(d, "path")), OptBool(d, "readOnly")});
    });
    Each(o, "ports", [&](const Napi::Object &p) {
        ports_.push_back({Keep(OptString(p, "hostIp")),
                          (uint16_t)OptUint(p, "hostPort", 0, 65535),
                          (uint16_t)OptUint(p, "guestPort", 0, 65535), OptBool(p, "udp")});
    });
    Each(o, "shares", [&](const Napi::Object &s) {
        shares_.push_back({Keep(OptString(s, "hostPath")), Keep(OptString(s, "guestPath")),
                           OptBool(s, "readOnly")});
    });
    Each(o, "tmpfs", [&](const Napi::Object &t) {
        tmpfs_.push_back({Keep(OptString(t, "path")), Keep(OptString(t, "options"))});
    });
    c_.disks = disks_.data(), c_.ndisks = (unsigned)disks_.size();
    c_.ports = ports_.data(), c_.nports = (unsigned)ports_.size();
    c_.shares = shares_.data(), c_.nshares = (unsigned)shares_.size();
    c_.tmpfs = tmpfs_.data(), c_.ntmpfs = (unsigned)tmpfs_.size();
}

}  // namespace sm_node
