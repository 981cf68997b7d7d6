/* docker's create and start: a detached VM recorded without starting it,
 * and a created or ended one started again from its record (spec.json,
 * vm_spec.h) with the same id, name, config and main process. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/abi.h"
#include "lib/image_open.h"
#include "lib/vm_int.h"
#include "lib/vm_log.h"
#include "lib/vm_record.h"
#include "lib/vm_registry.h"
#include "lib/vm_spec.h"
#include "supermachine.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log_rotate.h"
#include "vmm/machine.h"

static int no_record(const char *name_or_id)
{
    return sm_fail(EOPNOTSUPP, "VM %s cannot be started again: it has no start record (only "
                   "detached VMs from an image or a root directory, made by 'run -d' or "
                   "'create' of this version, have one)", name_or_id);
}

static int check_create(const sm_image *image, const sm_vm_config *c, char *id)
{
    if (!image || !id)
        return sm_fail(EINVAL, "sm_vm_create: image and id are required");
    if (c->snapshot || sm_image_snapshot(image))
        return sm_fail(EINVAL, "a created VM starts from its image, not from a snapshot");
    if (c->ndisks > SM_MACHINE_MAX_DISKS)
        return sm_fail(EINVAL, "%u disks: at most %d can be attached", c->ndisks,
                       SM_MACHINE_MAX_DISKS);
    return 0;
}

int sm_vm_create(const sm_image *image, const sm_vm_config *config, const sm_exec *main,
                 char id[65])
{
    sm_vm_config c = {.size = sizeof(sm_vm_config)};
    sm_exec ex = {.size = sizeof(sm_exec)};
    int err = config ? SM_ABI_IN(&c, config, sm_vm_config) : 0;
    if (!err && main)
        err = SM_ABI_IN(&ex, main, sm_exec);
    if (err)
        return err;
    c.detached = 1;
    /* No main process given: the image's own, as run -d IMAGE starts it. */
    c.run_image_process = c.run_image_process || !main;
    err = check_create(image, &c, id);
    char dir[4096];
    int lock = -1;
    if (!err)
        err = sm_vm_dir_new(dir, sizeof dir, id, &lock);
    if (err)
        return err;
    err = sm_vm_record_spec(dir, image, &c, c.run_image_process ? NULL : &ex);
    if (!err)
        err = sm_vm_record_created(dir, id, image, &c, c.run_image_process ? NULL : &ex);
    if (err)
        sm_vm_forget(dir);
    close(lock);   /* not running: the lock is free */
    return err;
}

/* What the last run left, but the record, its log (both halves) and the
 * lock: a stale exit status or pid must not describe the new run. */
static void clear_last_run(const char *dir)
{
    static const char *const keep[] = {".", "..", "meta.json", SM_VM_SPEC_NAME, "lock",
                                       SM_VM_LOG_NAME, SM_VM_LOG_NAME SM_LOG_OLD_SUFFIX, NULL};
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        int kept = 0;
        for (size_t i = 0; keep[i] && !kept; i++)
            kept = !strcmp(e->d_name, keep[i]);
        if (!kept)
            unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d)
        closedir(d);
}

/* The handle of a VM found in the registry, its lock taken for the start. */
static int claim(const char *name_or_id, sm_vm **out)
{
    sm_vm *vm;
    sm_vm_meta m;
    int err = sm_vm_from_registry(name_or_id, &vm, &m);
    if (err)
        return err;
    if ((vm->lock_fd = sm_vm_lock_take(vm->dir)) < 0) {
        sm_vm_free(vm);
        return sm_fail(EBUSY, "VM %s is being started or stopped by another process",
                       name_or_id);
    }
    vm->detached = vm->again = 1;
    *out = vm;
    return 0;
}

static int open_image(const char *name_or_id, const sm_vm_spec *s, sm_image **img)
{
    sm_image_open_options o = {.size = sizeof o, .pull_policy = SM_PULL_NEVER};
    int err = sm_image_open(s->image_digest, &o, img);
    if (err)
        return sm_fail(err, "the image of VM %s (%s) is no longer stored: pull it again "
                       "(supermachine pull %s), then start the VM", name_or_id,
                       s->image[0] ? s->image : s->image_digest,
                       s->image[0] ? s->image : s->image_digest);
    return 0;
}

/* Started and ready: its main process, unless the library ran it. */
static int start_main(sm_vm *vm, const sm_vm_spec *s)
{
    if (s->config.run_image_process || !s->has_main)
        return 0;
    int err = sm_vm_start_main(vm, &s->main);
    if (err) {
        sm_vm_kill_worker(vm);
        sm_vm_free(vm);
    }
    return err;
}

int sm_vm_start_again(const char *name_or_id, sm_vm **out)
{
    char dir[4096];
    if (!name_or_id || !out)
        return sm_fail(EINVAL, "sm_vm_start_again: a VM and out are required");
    int err = sm_vm_find(name_or_id, dir, sizeof dir);
    if (err)
        return err;
    /* docker start of a running container does nothing. */
    if (sm_vm_alive(dir))
        return sm_vm_open(name_or_id, out);
    sm_vm_spec s;
    if ((err = sm_vm_spec_read(dir, &s)) == -ENOENT)
        return no_record(name_or_id);
    if (err)
        return err;
    sm_vm *vm = NULL;
    sm_image *img = NULL;
    /* A VM from a root directory has no image: the record names the directory. */
    if ((s.config.root_dir || (err = open_image(name_or_id, &s, &img)) == 0) &&
        (err = claim(name_or_id, &vm)) == 0) {
        clear_last_run(vm->dir);
        err = sm_vm_start_in(vm, img, &s.config, &vm);
        if (!err)
            err = start_main(vm, &s);
    }
    sm_image_close(img);
    sm_vm_spec_free(&s);
    if (!err)
        *out = vm;
    return err;
}

/* The record is checked before the VM is stopped: a VM that cannot start
 * again is left running. */
static int check_record(const char *name_or_id, char *dir, size_t len)
{
    sm_vm_spec s;
    int err = sm_vm_find(name_or_id, dir, len);
    if (!err && (err = sm_vm_spec_read(dir, &s)) == 0)
        sm_vm_spec_free(&s);
    if (err == -ENOENT)
        return no_record(name_or_id);
    return err;
}

int sm_vm_restart(const char *name_or_id, uint32_t timeout_ms, sm_vm **out)
{
    char dir[4096], mark[4200];
    if (!name_or_id || !out)
        return sm_fail(EINVAL, "sm_vm_restart: a VM and out are required");
    int err = check_record(name_or_id, dir, sizeof dir);
    sm_vm *vm;
    if (!err && sm_vm_alive(dir) && (err = sm_vm_open(name_or_id, &vm)) == 0) {
        snprintf(mark, sizeof mark, "%s/" SM_VM_RESTARTING_NAME, dir);
        err = sm_file_write_atomic(mark, "", 0, 0600);
        if (!err)
            err = sm_vm_shutdown(vm, 0, timeout_ms);
        sm_vm_release(vm);
    }
    return err ? err : sm_vm_start_again(name_or_id, out);
}
