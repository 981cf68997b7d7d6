/* docker's kill, wait and rename for detached VMs. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/vm_int.h"
#include "lib/vm_registry.h"
#include "supermachine.h"
#include "util/error.h"

int sm_vm_kill(sm_vm *vm, int signo)
{
    if (!vm || signo < 1 || signo > 64)
        return sm_fail(EINVAL, "sm_vm_kill: a VM and a signal from 1 to 64 are required");
    if (!sm_vm_alive(vm->dir))
        return sm_fail(ESRCH, "VM %.12s is not running", vm->id);
    char req[32];
    snprintf(req, sizeof req, "SIGNAL %d\n", signo);
    return sm_vm_control(vm, req);
}

static int freeze(sm_vm *vm, int on)
{
    if (!vm)
        return sm_fail(EINVAL, "a VM is required");
    if (!sm_vm_alive(vm->dir))
        return sm_fail(ESRCH, "VM %.12s is not running", vm->id);
    if (sm_vm_is_paused(vm->dir) == on)
        return sm_fail(on ? EALREADY : EINVAL, "VM %.12s is %s", vm->id,
                       on ? "paused already" : "not paused");
    return sm_vm_control(vm, on ? "PAUSE\n" : "UNPAUSE\n");
}

int sm_vm_pause(sm_vm *vm)
{
    return freeze(vm, 1);
}

int sm_vm_unpause(sm_vm *vm)
{
    return freeze(vm, 0);
}

int sm_vm_paused(const sm_vm *vm)
{
    return vm ? sm_vm_is_paused(vm->dir) : 0;
}

/* A created VM not started yet: docker's wait waits for it to start
 * (whoever starts it holds the lock before meta.json says it started). */
static bool not_started(const sm_vm *vm)
{
    sm_vm_meta m;
    return sm_vm_meta_read(vm->dir, &m) == 0 && m.never_started;
}

int sm_vm_wait(sm_vm *vm, int timeout_ms, int *exit_status)
{
    if (!vm)
        return sm_fail(EINVAL, "sm_vm_wait: vm is required");
    /* The worker holds the directory's lock while it lives: polled, as a
     * waiter may be any process, not the worker's parent. */
    for (long waited = 0; sm_vm_alive(vm->dir) || not_started(vm); waited += 20) {
        if (timeout_ms >= 0 && waited >= timeout_ms)
            return sm_fail(ETIMEDOUT, "VM %.12s has not ended after %d ms", vm->id, timeout_ms);
        usleep(20 * 1000);
    }
    if (exit_status)
        *exit_status = sm_vm_exit_read(vm->dir);
    return 0;
}

int sm_vm_rename(const char *name_or_id, const char *new_name)
{
    char dir[4096];
    sm_vm_meta m;
    int err = sm_vm_find(name_or_id, dir, sizeof dir);
    if (!err)
        err = sm_vm_meta_read(dir, &m);
    if (err)
        return err;
    if (!strcmp(m.name, new_name))
        return 0;
    char short_id[SM_VM_SHORT_ID + 1];
    snprintf(short_id, sizeof short_id, "%s", m.id);
    if ((err = sm_vm_name_claim(new_name, short_id)) != 0)
        return err;
    char old[sizeof m.name];
    snprintf(old, sizeof old, "%s", m.name);
    snprintf(m.name, sizeof m.name, "%s", new_name);
    if ((err = sm_vm_meta_write(dir, &m)) != 0) {
        sm_vm_name_release(new_name);
        return err;
    }
    sm_vm_name_release(old);
    return 0;
}
