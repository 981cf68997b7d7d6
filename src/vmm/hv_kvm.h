/* The KVM backend's descriptors, for tests that check its work with their
 * own KVM ioctls (tests/integration/test_hv_state.c). Nothing in src/
 * uses them: there, hv.h is the only door to the hypervisor. */
#ifndef SM_VMM_HV_KVM_H
#define SM_VMM_HV_KVM_H

#include "vmm/hv.h"

int sm_hv_kvm_vm_fd(const sm_hv *hv);
int sm_hv_kvm_vcpu_fd(const sm_hv_vcpu *vcpu);

#endif
