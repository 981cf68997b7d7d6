/* The worker process, shared by the files of src/worker: one process per
 * VM, so that a crash or a hostile guest takes down one worker and never
 * the program that embeds the library. */
#ifndef SM_WORKER_WORKER_H
#define SM_WORKER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/boot_channel.h"
#include "lib/launch.h"
#include "vmm/machine.h"
#include "worker/confine.h"
#include "worker/spec.h"

typedef struct sm_worker {
    const sm_worker_spec *spec;
    int ready_fd;              /* until "ready" or the failure is told, then -1 */
    int sig_fd;                /* a signalfd for SIGTERM, SIGINT and SIGHUP */
    uint64_t t_open_ns;        /* CLOCK_MONOTONIC: a restore began */
    sm_machine *machine;
    sm_boot_channel channel;   /* what sm-init says on the status port */
    /* The machine config's disks and shares, pointing into the spec. */
    sm_machine_disk disks[SM_MACHINE_MAX_DISKS];
    sm_machine_share shares[SM_MACHINE_MAX_SHARES];
    sm_machine_tap tap;        /* the NIC's, when the spec has a tap */
    sm_confine_plan confine;   /* what it may reach once confined */
} sm_worker;

/* Boot (or restore) the spec's machine and run it until it stops. */
int sm_worker_run(sm_worker *w);

/* machine.json in the VM's directory: what a snapshot of it must rebuild.
 * l is NULL for a restored VM. */
int sm_worker_record_machine(const sm_worker *w, const sm_machine_config *mc,
                             const sm_launch *l);

/* The ready fd (ready.c): "ready\n" once the agent listens (on_ready is
 * the machine's callback, ctx the worker); "error N SENTENCE\n" when the
 * start failed with -N, so that the caller keeps the cause even when the
 * VM's directory is gone. */
void sm_worker_on_ready(void *ctx);
void sm_worker_report_failure(sm_worker *w, int err);

/* The process itself (process.c). */
int sm_worker_stop_signals(void);
int sm_worker_detach(void);
int sm_worker_write_pid(const char *dir);
bool sm_worker_restarting(const char *dir);
void sm_worker_fork_record_keeper(const sm_worker_spec *spec);

#endif
