/* Detached VMs: a main process supervised by the worker, and handles on
 * VMs other processes started (open, shutdown, list, remove, logs). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "agent/client.h"
#include "agent/protocol.h"
#include "lib/abi.h"
#include "lib/exec_spec.h"
#include "lib/vm_dir.h"
#include "lib/vm_int.h"
#include "lib/vm_log.h"
#include "lib/vm_record.h"
#include "lib/vm_registry.h"
#include "lib/vm_spec.h"
#include "lib/vsock_dial.h"
#include "util/error.h"
#include "util/file.h"
#include "worker/control.h"

#define GRACE_MS 5000

static int write_request(const sm_vm *vm, const sm_agent_exec_req *req)
{
    sm_agent_wbuf b = {.grow = true};
    char path[4200];
    snprintf(path, sizeof path, "%s/main.exec", vm->dir);
    int err = sm_agent_encode_exec(&b, req);
    if (err)
        err = sm_fail(err, "the main process's request is too large");
    else
        err = sm_file_write_atomic(path, b.data, b.len, 0600);
    sm_agent_wbuf_free(&b);
    return err;
}

int sm_vm_start_main(sm_vm *vm, const sm_exec *exec)
{
    if (!vm->detached)
        return sm_fail(EINVAL, "sm_vm_start_main is for detached VMs; use sm_vm_exec");
    sm_exec ex;
    int err = SM_ABI_IN(&ex, exec, sm_exec);
    if (err)
        return err;
    ex.stdin_data = NULL, ex.has_stdin_fd = 0, ex.stdin_stream = 0;
    int fd;
    sm_agent_conn *c;
    err = sm_vsock_dial(vm->dir, SM_AGENT_PORT, &fd);
    if (err || (err = sm_agent_conn_open(fd, &c)) != 0)
        return sm_fail_context(err, "the VM's agent is not answering");
    sm_exec_spec spec;
    err = sm_exec_spec_build(vm, c, &ex, ex.pty, &spec);
    sm_agent_conn_close(c);
    if (err)
        return err;
    sm_agent_exec_req req = sm_exec_spec_request(&ex, &spec);
    err = write_request(vm, &req);
    if (!err)
        sm_vm_record_command(vm, (const char *const *)spec.argv);
    /* As given, not as resolved: a start again resolves it anew. */
    if (!err)
        err = sm_vm_spec_set_main(vm->dir, &ex);
    sm_exec_spec_free(&spec);
    return err ? err : sm_vm_control(vm, "RUN\n");
}

int sm_vm_from_registry(const char *name_or_id, sm_vm **out, sm_vm_meta *m)
{
    sm_vm *vm = sm_vm_alloc();
    if (!vm)
        return -ENOMEM;
    int err = sm_vm_find(name_or_id, vm->dir, sizeof vm->dir);
    if (!err)
        err = sm_vm_meta_read(vm->dir, m);
    if (err) {
        sm_vm_free(vm);
        return err;
    }
    snprintf(vm->id, sizeof vm->id, "%s", m->id);
    *out = vm;
    return 0;
}

int sm_vm_open(const char *name_or_id, sm_vm **out)
{
    sm_vm *vm;
    sm_vm_meta m;
    int err = sm_vm_from_registry(name_or_id, &vm, &m);
    if (err)
        return err;
    snprintf(vm->hostname, sizeof vm->hostname, "%s", m.hostname);
    /* Not our child either way: wait on the lock, never waitpid. */
    vm->detached = 1;
    if (sm_vm_alive(vm->dir))
        sm_vm_read_worker_pid(vm);
    /* exec's from_image: a container whose image config is empty. */
    vm->root_dir = m.root_dir;
    if (m.image_digest[0] && sm_image_inspect(m.image_digest, &vm->image) != 0)
        vm->image = NULL;  /* removed since: exec works, minus the image's defaults */
    *out = vm;
    return 0;
}

void sm_vm_release(sm_vm *vm)
{
    if (vm)
        sm_vm_free(vm);
}

static int wait_gone(const sm_vm *vm, uint32_t ms)
{
    for (uint32_t waited = 0; waited <= ms; waited += 20) {
        if (!sm_vm_alive(vm->dir))
            return 1;
        usleep(20 * 1000);
    }
    return 0;
}

int sm_vm_shutdown(sm_vm *vm, int signo, uint32_t timeout_ms)
{
    if (!sm_vm_alive(vm->dir))
        return 0;
    if (!signo) {
        sm_vm_meta m;
        signo = sm_vm_meta_read(vm->dir, &m) == 0 && m.stop_signal ? m.stop_signal : SIGTERM;
    }
    char req[64];
    snprintf(req, sizeof req, "STOP %d %u\n", signo, timeout_ms);
    /* A worker that cannot answer is stopped the hard way below. */
    if (sm_vm_control(vm, req) == 0 && wait_gone(vm, timeout_ms + GRACE_MS))
        return 0;
    if (vm->pid <= 0)
        sm_vm_read_worker_pid(vm);
    sm_vm_kill_worker(vm);
    return 0;
}

int sm_vm_logs(const char *name_or_id, int follow, int stdout_fd, int stderr_fd)
{
    char dir[4096];
    int err = sm_vm_find(name_or_id, dir, sizeof dir);
    sm_log_view v = {.follow = follow, .tail = -1};
    return err ? err : sm_vm_log_copy(dir, &v, stdout_fd, stderr_fd);
}

int sm_vm_logs_ex(const char *name_or_id, const sm_logs_options *opts)
{
    sm_logs_options o = {.size = sizeof(sm_logs_options)};
    if (!opts)
        return sm_fail(EINVAL, "sm_vm_logs_ex: opts is required");
    int err = SM_ABI_IN(&o, opts, sm_logs_options);
    if (err)
        return err;
    if (o.has_tail && o.tail > INT64_MAX)
        o.tail = INT64_MAX;
    sm_log_view v = {.follow = o.follow, .tail = o.has_tail ? (int64_t)o.tail : -1,
                     .since_ns = o.since_ns, .until_ns = o.until_ns,
                     .timestamps = o.timestamps};
    char dir[4096];
    err = sm_vm_find(name_or_id, dir, sizeof dir);
    return err ? err : sm_vm_log_copy(dir, &v, o.stdout_fd, o.stderr_fd);
}

int sm_vm_remove(const char *name_or_id, int force)
{
    sm_vm *vm;
    int err = sm_vm_open(name_or_id, &vm);
    if (err)
        return err;
    if (sm_vm_alive(vm->dir) && !force) {
        sm_vm_release(vm);
        return sm_fail(EBUSY, "VM %s is running: stop it first, or remove it with force "
                       "(rm -f)", name_or_id);
    }
    sm_vm_kill_worker(vm);
    sm_vm_forget(vm->dir);
    sm_vm_release(vm);
    return 0;
}
