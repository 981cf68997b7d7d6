/* sm_vm_snapshot: the worker pauses its guest and writes memory, state and
 * machine.json into a temporary directory this side made; this side adds
 * metadata.json and commits the directory atomically. */
#include "lib/vm_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "lib/machine_file.h"
#include "lib/vm_dir.h"
#include "lib/vm_int.h"
#include "lib/vm_registry.h"
#include "snapshot/snap_dir.h"
#include "util/error.h"

static int absolute(const char *dir, char *out, size_t len)
{
    char cwd[PATH_MAX];
    if (!dir || !*dir)
        return sm_fail(EINVAL, "a snapshot needs a directory to go to");
    if (strpbrk(dir, "\t\n"))
        return sm_fail(EINVAL, "snapshot path '%s' holds a tab or newline", dir);
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd))
        return sm_fail(errno, "getcwd: %s", strerror(errno));
    int n = dir[0] == '/' ? snprintf(out, len, "%s", dir) : snprintf(out, len, "%s/%s", cwd, dir);
    if (n < 0 || (size_t)n >= len)
        return sm_fail(ENAMETOOLONG, "snapshot path too long: %s", dir);
    while (n > 1 && out[n - 1] == '/')
        out[--n] = '\0';
    if (access(out, F_OK) == 0)
        return sm_fail(EEXIST, "%s exists already: a snapshot goes into a new directory", out);
    return 0;
}

static int finish_meta(const sm_vm *vm, const sm_snap_dir_tx *tx, sm_snap_meta *m)
{
    char path[PATH_MAX];
    sm_machine_file mf;
    snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, tx->tmp);
    int err = sm_machine_file_read(path, &mf);
    if (err)
        return err;
    if (vm->image) {
        snprintf(m->image_ref, sizeof m->image_ref, "%s",
                 vm->image->name[0] ? vm->image->name : vm->image->digest);
        snprintf(m->manifest_digest, sizeof m->manifest_digest, "%s", vm->image->digest);
    }
    memcpy(m->kernel_id, mf.kernel_id, sizeof m->kernel_id);
    memcpy(m->init_id, mf.init_id, sizeof m->init_id);
    m->memory_mib = mf.memory_mib;
    m->vcpus = mf.vcpus;
    m->created = time(NULL);
    long pid = 0;
    sm_vm_dir_read_number(vm->dir, "main.pid", &pid);
    m->main_pid = (uint32_t)pid;
    sm_vm_meta vm_meta;
    if (m->main_pid && sm_vm_meta_read(vm->dir, &vm_meta) == 0)
        memcpy(m->command, vm_meta.command, sizeof m->command);
    snprintf(path, sizeof path, "%s/" SM_SNAP_META_FILE, tx->tmp);
    return sm_snap_meta_write(path, m);
}

static int create_in(const char *dir, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    return fd >= 0 ? fd : sm_fail(errno, "cannot create %s: %s", path, strerror(errno));
}

/* The worker writes memory and state into files made here: confined, it
 * could not create them (src/worker/confine.h). The machine description
 * goes with them. */
static int worker_writes(sm_vm *vm, const char *tmp, const char *parent)
{
    char req[PATH_MAX + 32], path[PATH_MAX];
    int fds[2] = {create_in(tmp, SM_SNAP_MEMORY_FILE), create_in(tmp, SM_SNAP_STATE_FILE)};
    int err = fds[0] < 0 ? fds[0] : fds[1] < 0 ? fds[1] : 0;
    snprintf(req, sizeof req, "SNAPSHOT%s%s\n", parent ? " " : "", parent ? parent : "");
    if (!err)
        err = sm_vm_control_fds(vm, req, fds, 2);
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    sm_machine_file mf;
    snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, vm->dir);
    if (!err && (err = sm_machine_file_read(path, &mf)) == 0) {
        snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, tmp);
        err = sm_machine_file_write(path, &mf);
    }
    return err;
}

int sm_vm_snapshot_write(sm_vm *vm, const char *dir, const sm_snap_meta *meta,
                         const char *parent)
{
    char final[PATH_MAX];
    sm_snap_dir_tx tx;
    sm_snap_meta m = *meta;
    int err = absolute(dir, final, sizeof final);
    if (err || (err = sm_snap_dir_begin(final, &tx)) != 0)
        return err;
    if (parent)
        snprintf(m.parent, sizeof m.parent, "%s", parent);
    err = worker_writes(vm, tx.tmp, parent);
    if (!err)
        err = finish_meta(vm, &tx, &m);
    if (!err)
        return sm_snap_dir_commit(&tx);
    sm_snap_dir_abort(&tx);
    return err;
}

static void live_fingerprint(char out[80])
{
    uint8_t r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        memset(r, 0, sizeof r);
    strcpy(out, "live:");
    for (int i = 0; i < 16; i++)
        sprintf(out + 5 + 2 * i, "%02x", r[i]);
}

int sm_vm_snapshot(sm_vm *vm, const char *dir)
{
    sm_snap_meta m = {0};
    if (!vm)
        return sm_fail(EINVAL, "sm_vm_snapshot: no VM");
    live_fingerprint(m.fingerprint);
    strcpy(m.kind, "snapshot");
    return sm_vm_snapshot_write(vm, dir, &m, NULL);
}

int sm_vm_snapshot_diff(sm_vm *vm, const char *dir)
{
    char path[4200];
    sm_machine_file mf;
    sm_snap_meta m = {0};
    if (!vm)
        return sm_fail(EINVAL, "sm_vm_snapshot_diff: no VM");
    snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, vm->dir);
    int err = sm_machine_file_read(path, &mf);
    if (err)
        return err;
    if (!mf.restored_from[0])
        return sm_fail(EINVAL, "a diff snapshot needs a VM restored from a snapshot; this "
                       "one was booted");
    live_fingerprint(m.fingerprint);
    strcpy(m.kind, "diff");
    return sm_vm_snapshot_write(vm, dir, &m, mf.restored_from);
}

int sm_vm_restored(const sm_vm *vm)
{
    return vm ? vm->restored : 0;
}
