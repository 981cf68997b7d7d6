/* The inside of the KVM backend's handles, shared by its files (hv_kvm.c
 * and hv_kvm_state.c) and no others: everything else goes through hv.h. */
#ifndef SM_VMM_HV_KVM_INT_H
#define SM_VMM_HV_KVM_INT_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "vmm/hv.h"

struct sm_hv {
    int kvm_fd;
    int vm_fd;
    int run_size;
    struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID, read once */
};

struct sm_hv_vcpu {
    sm_hv *hv;
    int fd;
    unsigned index;
    struct kvm_run *run;
    bool unsettled;     /* the last exit's I/O completes at the next KVM_RUN */
};

#endif
