/* The VM handle itself: what it names, the worker behind it, and its
 * end; below every file of src/lib that works on a VM through it. */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/client.h"
#include "agent/protocol.h"
#include "lib/vm_dir.h"
#include "lib/vm_int.h"
#include "lib/vm_registry.h"
#include "lib/vsock_dial.h"
#include "util/error.h"

#define STOP_GRACE_MS 5000

const char *sm_vm_id(const sm_vm *vm)
{
    return vm ? vm->id : NULL;
}

const char *sm_vm_dir(const sm_vm *vm)
{
    return vm->dir;
}

int sm_vm_connect_vsock(sm_vm *vm, uint32_t port, int *out)
{
    return sm_vsock_dial(vm->dir, port, out);
}

/* An idle agent connection has nothing to say: anything readable on it
 * (its end, after the guest agent or the VM went away) makes it unusable. */
static bool still_idle(sm_agent_conn *c)
{
    struct pollfd p = {.fd = sm_agent_conn_fd(c), .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

int sm_vm_agent_open(sm_vm *vm, sm_agent_conn **out)
{
    sm_agent_conn *c = __atomic_exchange_n(&vm->spare_agent, NULL, __ATOMIC_ACQ_REL);
    if (c && still_idle(c)) {
        *out = c;
        return 0;
    }
    sm_agent_conn_close(c);
    int fd;
    int err = sm_vm_connect_vsock(vm, SM_AGENT_PORT, &fd);
    if (err)
        return sm_fail_context(err, "the VM's agent is not answering");
    return sm_agent_conn_open(fd, out);
}

void sm_vm_agent_keep(sm_vm *vm, sm_agent_conn *c)
{
    sm_agent_conn_close(__atomic_exchange_n(&vm->spare_agent, c, __ATOMIC_ACQ_REL));
}

int sm_vm_read_worker_pid(sm_vm *vm)
{
    long pid = 0;
    int err = sm_vm_dir_read_number(vm->dir, "worker.pid", &pid);
    vm->pid = (pid_t)pid;
    return err ? sm_fail(ENOENT, "the VM's worker left no pid in %s/worker.pid", vm->dir) : 0;
}

/* Wait up to ms for the worker to end: reaped if it is our child, else
 * gone when its lock is free. */
static bool gone_within(const sm_vm *vm, pid_t pid, int ms)
{
    for (int waited = 0; waited <= ms; waited += 10) {
        if (vm->detached ? !sm_vm_alive(vm->dir) : waitpid(pid, NULL, WNOHANG) == pid)
            return true;
        struct timespec t = {0, 10 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    return false;
}

void sm_vm_kill_worker(sm_vm *vm)
{
    /* Taken, so that of two threads stopping one VM at once only one
     * kills and reaps it: the other's waitpid would find no child, wait
     * out the grace period and then signal whoever has the pid next. */
    pid_t pid = __atomic_exchange_n(&vm->pid, 0, __ATOMIC_ACQ_REL);
    if (pid <= 0 || (vm->detached && !sm_vm_alive(vm->dir)))
        return;
    kill(pid, SIGTERM);
    if (!gone_within(vm, pid, STOP_GRACE_MS)) {
        kill(pid, SIGKILL);
        if (!vm->detached)
            waitpid(pid, NULL, 0);
        else
            gone_within(vm, pid, STOP_GRACE_MS);
    }
}

sm_vm *sm_vm_alloc(void)
{
    sm_vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        sm_fail(ENOMEM, "out of memory");
        return NULL;
    }
    vm->lifeline_fd = vm->lock_fd = -1;
    pthread_mutex_init(&vm->tcp_lock, NULL);
    return vm;
}

void sm_vm_free(sm_vm *vm)
{
    sm_vm_tcp_unexpose_all(vm);
    if (vm->lifeline_fd >= 0)
        close(vm->lifeline_fd);
    if (vm->lock_fd >= 0)
        close(vm->lock_fd);
    sm_image_info_free(vm->image);
    sm_agent_conn_close(vm->spare_agent);
    pthread_mutex_destroy(&vm->tcp_lock);
    free(vm);
}
