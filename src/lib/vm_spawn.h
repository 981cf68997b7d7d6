/* Starting a VM's worker, supermachine-worker: its launch spec (one
 * sealed memfd, worker/spec.h) from the VM's config, the descriptors it
 * inherits, the process. */
#ifndef SM_LIB_VM_SPAWN_H
#define SM_LIB_VM_SPAWN_H

#include "devices/net_slirp.h"
#include "lib/vm_int.h"
#include "supermachine.h"

/* Start vm's worker for config c (vm->pid is set): ready_w becomes its
 * ready fd, lifeline_r its lifeline (unless c->detached), lock the
 * registry's lock it holds while it lives. The fds stay the caller's to
 * close. */
int sm_vm_spawn_worker(sm_vm *vm, const sm_vm_config *c, int ready_w, int lifeline_r,
                       int lock);

/* A published port as the worker's spec holds it, the host address
 * checked as `-p` would check it. */
int sm_vm_worker_port(const sm_port *p, sm_net_port *out);

#endif
