/* sm_kvm_check: whether VMs can start on this machine, and on which KVM. */
#include <stdio.h>
#include <string.h>

#include "supermachine.h"
#include "lib/abi.h"
#include "util/cpuinfo.h"
#include "util/error.h"
#include "vmm/host_quirks.h"
#include "vmm/hv.h"

/* The "hypervisor" CPUID bit is how a guest learns that it is one: KVM
 * there runs on virtualization its own hypervisor passes on. */
static sm_kvm_kind kind_of_host(void)
{
    if (sm_host_is_pvm())
        return SM_KVM_PVM;
    return sm_cpuinfo_has_flag("hypervisor") ? SM_KVM_NESTED : SM_KVM_HARDWARE;
}

int sm_kvm_check(sm_kvm_status *status)
{
    if (!status)
        return sm_fail(EINVAL, "sm_kvm_check: status is required");
    sm_kvm_status s = {.size = sizeof s};
    int err = sm_abi_check(status, "sm_kvm_status");
    if (err)
        return err;
    snprintf(s.device, sizeof s.device, "/dev/kvm");
    s.error = sm_hv_check(s.device, &s.api_version);
    if (s.error)
        snprintf(s.detail, sizeof s.detail, "%s", sm_last_error());
    s.kind = s.error ? SM_KVM_NONE : kind_of_host();
    SM_ABI_OUT(status, &s, sm_kvm_status);
    return s.error;
}
