/* The VM handle, shared by the files of src/lib that implement it. */
#ifndef SM_LIB_VM_INT_H
#define SM_LIB_VM_INT_H

#include <pthread.h>
#include <sys/types.h>

#include "supermachine.h"

struct sm_vm {
    pid_t pid;              /* the worker */
    int lifeline_fd;        /* its end closing tells the worker to stop */
    char dir[4096];
    sm_image_info *image;   /* the image's config, when started from one */
    int root_dir;           /* its root is a host directory (vm_rootdir.c) */
    char hostname[65];
    char id[65];
    int detached;           /* outlives this handle; pid is not our child */
    int owned;              /* this handle started it: stopping it forgets it */
    int lock_fd;            /* the registry lock until the worker holds it */
    /* sm_vm_expose_tcp's (vm_tcp.c), added and taken out by threads of
     * the caller's under tcp_lock. */
    struct sm_tcp_exposure *tcp_exposures;
    pthread_mutex_t tcp_lock;
    int restored;           /* resumed from a snapshot rather than booted */
    int again;              /* started again from its record: meta.json and
                               name are there already (vm_create.c) */
    /* While a VM in a network namespace starts: its tap and the address
     * its guest takes over (vm_netns.h); NULL otherwise. */
    const struct sm_netns_link *netns;
    /* The agent connection the start's SYSTEM request went over, kept for
     * the first request after it: the first exec after a restore then
     * costs no connection handshake through the guest (taken atomically). */
    struct sm_agent_conn *spare_agent;
};

/* The worker's pid from <dir>/worker.pid (a detached worker's). */
int sm_vm_read_worker_pid(sm_vm *vm);
/* SIGTERM, then SIGKILL after a grace period; waits for its end. */
void sm_vm_kill_worker(sm_vm *vm);
/* Stop and join the forwarding threads of sm_vm_expose_tcp. */
void sm_vm_tcp_unexpose_all(sm_vm *vm);
/* One request line on the worker's control socket (worker/control.h):
 * 0 for "OK", else -EIO with the worker's sentence. */
int sm_vm_control(const sm_vm *vm, const char *request);
/* The same, handing the worker open files (SCM_RIGHTS, at most
 * SM_WORKER_CONTROL_MAX_FDS): what a confined worker may not open itself. */
int sm_vm_control_fds(const sm_vm *vm, const char *request, const int *fds, unsigned nfds);
/* Start the VM in vm->dir, whose lock vm->lock_fd holds: sm_vm_start
 * after the directory exists. On failure vm is freed (and its record
 * forgotten if vm->owned). */
int sm_vm_start_in(sm_vm *vm, const sm_image *image, const sm_vm_config *config, sm_vm **out);
/* An agent connection: the spare one if it is still open, else a new one;
 * and a connection done with, kept as the spare (closed if there is one). */
struct sm_agent_conn;
int sm_vm_agent_open(sm_vm *vm, struct sm_agent_conn **out);
void sm_vm_agent_keep(sm_vm *vm, struct sm_agent_conn *c);
/* A zeroed handle with its fds -1 and its lock made; NULL (and a
 * sentence) when out of memory. */
sm_vm *sm_vm_alloc(void);
/* Free the handle only. */
void sm_vm_free(sm_vm *vm);

/* A handle on the VM the registry knows by that name or id: its dir and
 * id set, *m its meta.json; nothing else opened (vm_detached.c). */
struct sm_vm_meta;
int sm_vm_from_registry(const char *name_or_id, sm_vm **out, struct sm_vm_meta *m);

#endif
