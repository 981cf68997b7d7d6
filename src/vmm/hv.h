/*
 * The hypervisor interface: the only part of the VMM that talks to KVM.
 * KVM implements it now (hv_kvm*.c); macOS HVF and Windows WHP are meant to
 * be other implementations of this same header.
 */
#ifndef SM_VMM_HV_H
#define SM_VMM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sm_hv sm_hv;
typedef struct sm_hv_vcpu sm_hv_vcpu;

typedef enum sm_hv_exit_kind {
    SM_HV_EXIT_IO = 1,       /* port I/O: see io */
    SM_HV_EXIT_MMIO,         /* MMIO: see mmio */
    SM_HV_EXIT_SHUTDOWN,     /* triple fault */
    SM_HV_EXIT_SYSTEM_RESET, /* the guest asked for reset or power-off */
    SM_HV_EXIT_INTERRUPTED,  /* kicked by sm_hv_vcpu_kick or a signal */
    SM_HV_EXIT_INTERNAL,     /* the hypervisor could not handle something */
    SM_HV_EXIT_FAIL_ENTRY,   /* the hardware refused to enter the guest */
    SM_HV_EXIT_OTHER,        /* anything else: see raw_reason */
} sm_hv_exit_kind;

typedef struct sm_hv_exit {
    sm_hv_exit_kind kind;
    uint32_t raw_reason;     /* the hypervisor's own exit code */
    uint64_t detail;         /* internal error suberror, entry failure reason */
    struct {
        uint16_t port;
        uint8_t size;        /* 1, 2 or 4 */
        bool write;
        uint32_t count;      /* string I/O repeats size-sized items */
        uint8_t *data;       /* count * size bytes, in or out */
    } io;
    struct {
        uint64_t addr;
        uint32_t len;
        bool write;
        uint8_t *data;
    } mmio;
} sm_hv_exit;

/* Whether the hypervisor device (path NULL: the default) opens and offers
 * what a VM needs, without creating one; -SM_ENOKVM or -SM_EKVMPERM with a
 * sentence saying what to do when not. */
int sm_hv_check(const char *device, int *api_version);

/* Open the hypervisor device (path NULL: the default) and create a VM. */
int sm_hv_open(const char *device, sm_hv **out);
void sm_hv_close(sm_hv *hv);

int sm_hv_map_ram(sm_hv *hv, uint32_t slot, uint64_t gpa, void *host, uint64_t size);

/* x86: in-kernel interrupt controllers (PIC, IOAPIC, LAPICs) and PIT. */
int sm_hv_create_platform(sm_hv *hv);

/* Drive an interrupt line of the in-kernel interrupt controllers. */
int sm_hv_irq_line(sm_hv *hv, uint32_t irq, bool level);

/* Make a guest write of `len` bytes equal to `value` at MMIO address `addr`
 * signal `fd` (an eventfd) inside the hypervisor, without a vCPU exit. */
int sm_hv_ioeventfd(sm_hv *hv, int fd, uint64_t addr, uint32_t len, uint64_t value);

/* Make a write to eventfd `fd` pulse interrupt line `irq`. */
int sm_hv_irqfd(sm_hv *hv, int fd, uint32_t irq);

/* vCPU `index` (also its APIC id) of `count`; CPUID and LAPIC are set up
 * for a multiprocessor guest. */
int sm_hv_vcpu_create(sm_hv *hv, unsigned index, unsigned count, sm_hv_vcpu **out);
void sm_hv_vcpu_destroy(sm_hv_vcpu *vcpu);

/* Enter the guest at `rip` in flat 32-bit protected mode with paging off
 * and `rbx` set: the state the PVH boot protocol asks for. */
int sm_hv_vcpu_set_entry32(sm_hv_vcpu *vcpu, uint64_t rip, uint64_t rbx);

/* Run until an exit that needs the VMM. I/O results are written into the
 * exit's data buffer before the next run. */
int sm_hv_vcpu_run(sm_hv_vcpu *vcpu, sm_hv_exit *exit);

/* Complete the I/O or MMIO access of the last exit without running any
 * guest instruction, so that the vCPU's registers are those after it.
 * Saving a vCPU's state needs this; a no-op when nothing is pending. Only
 * for a vCPU that no thread runs at the moment. */
int sm_hv_vcpu_settle(sm_hv_vcpu *vcpu);

/* Make the next or current sm_hv_vcpu_run return SM_HV_EXIT_INTERRUPTED.
 * Callable from any thread; the caller also signals the vCPU's thread. */
void sm_hv_vcpu_kick(sm_hv_vcpu *vcpu);

/* A one-paragraph register dump for error reports. */
void sm_hv_vcpu_describe(sm_hv_vcpu *vcpu, char *buf, size_t len);

/* What a thread asks of the hypervisor, so that a syscall filter can allow
 * a thread only the requests its role needs (the worker's seccomp lists).
 * One bit each; a backend without ioctls gives each an empty list. */
typedef enum sm_hv_use {
    SM_HV_USE_RUN = 1u << 0,       /* sm_hv_vcpu_run, sm_hv_vcpu_settle */
    SM_HV_USE_IRQ_LINE = 1u << 1,  /* sm_hv_irq_line */
    SM_HV_USE_STATE_GET = 1u << 2, /* sm_hv_vcpu_save, sm_hv_vm_save */
    SM_HV_USE_DESCRIBE = 1u << 3,  /* sm_hv_vcpu_describe */
} sm_hv_use;

/* The backend's ioctl request numbers, as the second argument of ioctl. */
typedef struct sm_hv_requests {
    const unsigned long *req;
    unsigned n;
} sm_hv_requests;

/* The requests one use (a single sm_hv_use bit) makes; none for others. */
sm_hv_requests sm_hv_requests_for(sm_hv_use use);

/* Saving and restoring the hypervisor's state as snapshot sections: each
 * vCPU's registers, FPU, MSRs, LAPIC and pending events, and the VM's
 * interrupt controllers, PIT and clock (docs/snapshot.md lists the
 * sections). The backend owns the payloads' bytes; the state file only
 * carries them, and is only named here (persist/state_file.h), so that
 * the door includes nothing of it. */
typedef struct sm_snap_writer sm_snap_writer;
typedef struct sm_snap_reader sm_snap_reader;

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
