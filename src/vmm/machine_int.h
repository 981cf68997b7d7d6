/* The inside of sm_machine, shared by machine.c (boot, run, pause),
 * machine_quota.c, and the machine's snapshot and restore. */
#ifndef SM_VMM_MACHINE_INT_H
#define SM_VMM_MACHINE_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "devices/i8042.h"
#include "devices/mmio_bus.h"
#include "devices/pio_bus.h"
#include "devices/serial_8250.h"
#include "util/event_loop.h"
#include "vmm/console_pump.h"
#include "vmm/console_tail.h"
#include "memory/guest_mem.h"
#include "vmm/hv.h"
#include "vmm/machine.h"
#include "vmm/virtio_set.h"
#include "vmm/x86_boot.h"

typedef struct vcpu_thread {
    struct sm_machine *m;
    sm_hv_vcpu *vcpu;
    unsigned index;
    pthread_t thread;
    bool started;
} vcpu_thread;

typedef struct serial_port {
    struct sm_machine *m;
    uint32_t irq;
    sm_serial uart;
} serial_port;

struct sm_machine {
    sm_gmem mem;
    sm_hv *hv;
    sm_pio_bus pio;
    sm_mmio_bus mmio;
    sm_event_loop *loop;
    sm_virtio_set virtio;
    char cmdline[SM_X86_CMDLINE_MAX + 1024];
    serial_port com1, com2;
    sm_i8042 kbd;
    int console_fd;
    sm_console_pump *console;      /* console_fd is a file: its bytes go this way */
    sm_console_tail tail;          /* written under com1.uart.lock */
    sm_guest_status_reader status; /* fed under com2.uart.lock */
    uint64_t t_init_ns;            /* written under com2.uart.lock */
    bool ready_sent;               /* written under com2.uart.lock */
    void (*on_ready)(void *ctx);
    void *ready_ctx;
    int ready_efd;                 /* a vCPU's READY, handed to the device thread */
    int (*on_vcpu_thread)(void);
    int (*on_device_thread)(void);
    unsigned ncpus;
    vcpu_thread *vcpus;

    pthread_mutex_t lock;
    pthread_cond_t stopped_cond;
    bool stopping;
    /* Pausing (for a snapshot): vCPUs park at their next exit. */
    pthread_cond_t park_cond;
    bool pausing;
    bool frozen;                   /* paused by the user: a snapshot's resume keeps it */
    bool throttled;                /* the CPU quota's period budget is spent */
    unsigned parked, live_vcpus;
    /* The CPU quota (machine_quota.c); quota_milli 0: none. */
    uint32_t quota_milli;
    pthread_t quota_thread;
    pthread_cond_t quota_cond;     /* wakes it to stop */
    bool quota_started;
    bool restored;                 /* built from a snapshot, not booted */
    sm_machine_result result;      /* under lock until the vCPUs are joined */
};

/* Park every vCPU outside the guest (pending I/O completed) and return;
 * -ESHUTDOWN when the machine is stopping instead. Resume lets them go. */
int sm_machine_pause(sm_machine *m);
void sm_machine_resume(sm_machine *m);

/* With m->lock held: get every vCPU out of KVM_RUN to its next exit. */
void sm_machine_kick_all(sm_machine *m);

/* machine_quota.c: start the thread that holds the vCPUs to
 * m->quota_milli (nothing without one), and join it after the stop. */
int sm_machine_quota_start(sm_machine *m);
void sm_machine_quota_join(sm_machine *m);

/* machine_restore.c: hypervisor, UART and virtio state, once devices and
 * vCPUs exist. */
int sm_machine_restore_state(sm_machine *m, const struct sm_snap_reader *r);
/* After the vCPUs started: resume devices, reset vsock's transport. */
void sm_machine_restore_finish(sm_machine *m);

#endif
