/* A VM's hypervisor state as snapshot sections: each vCPU's registers,
 * FPU, MSRs, LAPIC and pending events, and the VM's interrupt controllers,
 * PIT and clock (docs/snapshot.md lists the sections). */
#ifndef SM_VMM_HV_STATE_H
#define SM_VMM_HV_STATE_H

#include <stdint.h>

#include "persist/state_file.h"
#include "vmm/hv.h"

/* Save while the vCPU is not inside sm_hv_vcpu_run. `index` is the vCPU's
 * number, which becomes the sections' index. */
int sm_hv_vcpu_save(sm_hv_vcpu *vcpu, sm_snap_writer *w, uint16_t index);

/* Restore into a vCPU made by sm_hv_vcpu_create that has not run yet, after
 * guest RAM is mapped (restoring kvm-clock's MSRs writes to guest memory).
 * Every section's length is checked before it reaches the hypervisor. */
int sm_hv_vcpu_restore(sm_hv_vcpu *vcpu, const sm_snap_reader *r, uint16_t index);

/* PIC master and slave, IOAPIC, PIT and the VM clock. Restore needs
 * sm_hv_create_platform first. */
int sm_hv_vm_save(sm_hv *hv, sm_snap_writer *w);
int sm_hv_vm_restore(sm_hv *hv, const sm_snap_reader *r);

#endif
