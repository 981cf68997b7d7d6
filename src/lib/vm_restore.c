#include "lib/vm_restore.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/vm_image.h"
#include "lib/vm_registry.h"
#include "oci/store.h"
#include "snapshot/snap_dir.h"
#include "persist/state_file.h"
#include "util/error.h"

static int check_files(const char *dir, const sm_snap_meta *meta, const sm_machine_file *mf)
{
    char path[PATH_MAX];
    struct stat st;
    sm_snap_reader *r;
    snprintf(path, sizeof path, "%s/" SM_SNAP_STATE_FILE, dir);
    int err = sm_snap_reader_open(path, &r);
    if (err)
        return err;
    sm_snap_reader_close(r);
    if (meta->memory_mib != mf->memory_mib || meta->vcpus != mf->vcpus)
        return sm_fail(EPROTO, "%s: metadata.json and machine.json disagree", dir);
    snprintf(path, sizeof path, "%s/" SM_SNAP_MEMORY_FILE, dir);
    if (stat(path, &st) < 0 || (uint64_t)st.st_size != (uint64_t)mf->memory_mib << 20)
        return sm_fail(EPROTO, "%s: the memory file is not %u MiB (truncated?)", path,
                       mf->memory_mib);
    return sm_machine_file_check_disks(mf);
}

int sm_snapshot_check(const char *dir, sm_snap_meta *meta, sm_machine_file *machine)
{
    char path[PATH_MAX];
    int err = sm_snap_dir_check(dir);
    if (!err) {
        snprintf(path, sizeof path, "%s/" SM_SNAP_META_FILE, dir);
        err = sm_snap_meta_read(path, meta);
    }
    if (!err) {
        snprintf(path, sizeof path, "%s/" SM_MACHINE_FILE, dir);
        err = sm_snap_file_trusted(path, false);
        if (!err)
            err = sm_machine_file_read(path, machine);
    }
    if (!err)
        err = check_files(dir, meta, machine);
    return err ? sm_fail_context(err, "cannot restore snapshot %s", dir) : 0;
}

static int refuse(const char *what)
{
    return sm_fail(EINVAL, "a VM restored from a snapshot has the snapshot's %s; "
                   "it cannot be given %s", what, what);
}

/* What a restore cannot change: it is the guest's memory already. */
static int check_config(const sm_vm_config *c, const sm_machine_file *mf)
{
    if (c->memory_mib && c->memory_mib != mf->memory_mib)
        return refuse("memory size");
    if (c->cpus && c->cpus != mf->vcpus)
        return refuse("vCPUs");
    if (c->nshares)
        return refuse("shared directories");
    if ((c->network == SM_NETWORK_NONE && mf->net_user) ||
        (c->network == SM_NETWORK_USER && !mf->net_user))
        return refuse("network setting");
    if (c->kernel || c->initrd || c->cmdline)
        return refuse("kernel, initramfs and command line");
    return 0;
}

static int attach_image(sm_vm *vm, const sm_image *image, const sm_snap_meta *meta)
{
    if (!meta->manifest_digest[0])
        return image ? sm_fail(EINVAL, "the snapshot was not taken of a VM from an image")
                     : 0;
    if (image && strcmp(sm_image_get_info(image)->digest, meta->manifest_digest))
        return sm_fail(EINVAL, "the snapshot was taken of image %s (%s), not of %s",
                       meta->image_ref, meta->manifest_digest, sm_image_get_info(image)->name);
    /* A boot's preparation may have read it already. */
    if (vm->image && !strcmp(vm->image->digest, meta->manifest_digest))
        return 0;
    sm_image_info_free(vm->image);
    vm->image = NULL;
    int err = sm_image_inspect(meta->manifest_digest, &vm->image);
    return err ? sm_fail_context(err, "the snapshot's image %s", meta->image_ref) : 0;
}

/* Whether real (resolved) lies inside dir (resolved, if it exists). */
static bool inside(const char *real, const char *dir)
{
    char d[PATH_MAX];
    if (!realpath(dir, d))
        return false;
    size_t n = strlen(d);
    return !strncmp(real, d, n) && real[n] == '/';
}

/* Disk i of the snapshot as the caller gave it (same file), or NULL. */
static const sm_disk *confirmed(const sm_vm_config *c, const char *real, sm_disk *upper)
{
    char r[PATH_MAX];
    for (unsigned j = 0; j < c->ndisks; j++)
        if (c->disks[j].path && realpath(c->disks[j].path, r) && !strcmp(r, real))
            return &c->disks[j];
    if (c->upper_disk && realpath(c->upper_disk, r) && !strcmp(r, real)) {
        *upper = (sm_disk){c->upper_disk, 0};
        return upper;
    }
    return NULL;
}

/* A snapshot names its disks, and a hostile one could name any file the
 * user can write. Only the image store's root filesystems are taken on
 * its word, and always read-only (they are shared by every VM); any other
 * disk must be given again by the caller (--disk), as it was given when
 * the VM was first started. */
static int pick_disks(const sm_vm_config *c, sm_vm_restore_plan *p)
{
    char store[PATH_MAX], rootfs[PATH_MAX + 8], real[PATH_MAX];
    int err = sm_store_default_root(store, sizeof store);
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", store);
    unsigned used = 0;
    for (unsigned i = 0; !err && i < p->machine.ndisks; i++) {
        const char *path = p->machine.disks[i].path;
        sm_disk upper;
        const sm_disk *given = realpath(path, real) ? confirmed(c, real, &upper) : NULL;
        if (given) {
            p->disks[i] = (sm_disk){p->machine.disks[i].path, given->read_only};
            used++;
        } else if (realpath(path, real) && inside(real, rootfs)) {
            p->disks[i] = (sm_disk){p->machine.disks[i].path, 1};
        } else {
            err = sm_fail(EPERM, "the snapshot names disk %s, which is not an image's root "
                          "filesystem in the store: give it again (--disk %s, or in the VM "
                          "config's disks) to let the VM use it", path, path);
        }
    }
    unsigned asked = c->ndisks + (c->upper_disk != NULL);
    if (!err && used != asked)
        err = refuse("disks");
    return err;
}

int sm_vm_restore_prepare(sm_vm *vm, const sm_image *image, sm_vm_config *c,
                          sm_vm_restore_plan *p)
{
    if (!realpath(c->snapshot, p->dir))
        return sm_fail(errno, "snapshot %s: %s", c->snapshot, strerror(errno));
    int err = sm_snapshot_check(p->dir, &p->meta, &p->machine);
    if (!err)
        err = check_config(c, &p->machine);
    if (!err)
        err = pick_disks(c, p);
    if (!err)
        err = attach_image(vm, image, &p->meta);
    if (!err)
        err = sm_vm_pick_hostname(vm, c->hostname);
    if (err)
        return err;
    c->upper_disk = NULL;   /* one of p->disks now */
    c->snapshot = p->dir;
    c->memory_mib = p->machine.memory_mib;
    c->cpus = p->machine.vcpus;
    c->network = p->machine.net_user ? SM_NETWORK_USER : SM_NETWORK_NONE;
    c->disks = p->disks;
    c->ndisks = p->machine.ndisks;
    vm->restored = 1;
    return 0;
}

/* A detached VM's main process ran on in the snapshot: the new worker
 * supervises it again (its output to the log, its end ends the VM). */
static int resume_main(sm_vm *vm, const sm_vm_config *c, const sm_vm_restore_plan *p)
{
    char req[32];
    if (!c->detached || !p->meta.main_pid)
        return 0;
    snprintf(req, sizeof req, "ATTACH %u\n", p->meta.main_pid);
    int err = sm_vm_control(vm, req);
    sm_vm_meta m;
    if (!err && sm_vm_meta_read(vm->dir, &m) == 0) {
        memcpy(m.command, p->meta.command, sizeof m.command);
        sm_vm_meta_write(vm->dir, &m);
    }
    return err ? sm_fail_context(err, "the snapshot's main process (pid %u)",
                                 p->meta.main_pid) : 0;
}

int sm_vm_restore_setup(sm_vm *vm, const sm_vm_config *c, const sm_vm_restore_plan *p)
{
    int err = sm_vm_image_setup(vm, c, p->meta.manifest_digest[0] != 0);
    return err ? err : resume_main(vm, c, p);
}
