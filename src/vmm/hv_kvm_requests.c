/* The KVM ioctl requests behind each sm_hv_use, for the worker's seccomp
 * lists. A request missing here stops a confined worker that makes it
 * (its SIGSYS report names it): add it to the use that needs it. None of
 * them builds a VM: no new VM, vCPU or memory slot after setup. */
#include "vmm/hv.h"

#include <linux/kvm.h>
#include <sys/ioctl.h>

#define REQUESTS(a) ((sm_hv_requests){a, sizeof a / sizeof a[0]})

/* KVM_RUN also completes a pending I/O exit before a save (settle). */
static const unsigned long run[] = {KVM_RUN};

/* The legacy devices' lines (serial, keyboard controller); virtio's go
 * through irqfds wired at setup. */
static const unsigned long irq_line[] = {KVM_IRQ_LINE};

/* Machine state for a live snapshot (the vCPUs are parked). CHECK_EXTENSION
 * asks which of them this KVM has (XSAVE2, XCRS): a query, it changes
 * nothing. */
static const unsigned long state_get[] = {
    KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MSRS, KVM_GET_LAPIC,
    KVM_GET_CPUID2, KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE,
    KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_GET_XCRS, KVM_GET_FPU,
    KVM_GET_DEBUGREGS, KVM_GET_CLOCK, KVM_GET_IRQCHIP,
    KVM_GET_PIT2, KVM_GET_VCPU_MMAP_SIZE, KVM_GET_MSR_INDEX_LIST,
    KVM_CHECK_EXTENSION,
};

/* A vCPU that fails names its registers in the error it reports: without
 * these its confinement would kill the worker instead, unexplained. */
static const unsigned long describe[] = {KVM_GET_REGS, KVM_GET_SREGS};

sm_hv_requests sm_hv_requests_for(sm_hv_use use)
{
    switch (use) {
    case SM_HV_USE_RUN:
        return REQUESTS(run);
    case SM_HV_USE_IRQ_LINE:
        return REQUESTS(irq_line);
    case SM_HV_USE_STATE_GET:
        return REQUESTS(state_get);
    case SM_HV_USE_DESCRIBE:
        return REQUESTS(describe);
    }
    return (sm_hv_requests){NULL, 0};
}
