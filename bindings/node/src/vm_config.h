// sm_vm_config from a JS object ({memoryMib, cpus, network, ports, ...}),
// with the strings and arrays it points at owned here: a start runs on
// another thread, after the JS values may be gone.
#pragma once
#include <napi.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "supermachine.h"

namespace sm_node {

class VmConfig {
public:
    VmConfig(Napi::Env env, const Napi::Value &v);
    VmConfig(const VmConfig &) = delete;
    // Points into this object: keep it alive while the struct is used.
    const sm_vm_config *get() const { return &c_; }

private:
    const char *Keep(const std::optional<std::string> &s);
    const char *Keep(const std::string &s) { return strings_.emplace_back(s).c_str(); }

    sm_vm_config c_ = SM_VM_CONFIG_INIT;
    std::deque<std::string> strings_;  // a deque: its strings never move
    std::vector<sm_disk> disks_;
    std::vector<sm_port> ports_;
    std::vector<sm_share> shares_;
    std::vector<sm_tmpfs> tmpfs_;
};

}  // namespace sm_node
