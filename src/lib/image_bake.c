/* sm_image_bake: the bake that sm_vm_start does on a config's first VM,
 * done ahead of time. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/abi.h"
#include "lib/bake.h"
#include "lib/image_open.h"
#include "lib/vm_image.h"
#include "lib/vm_restore.h"
#include "snapshot/snap_dir.h"
#include "supermachine.h"
#include "util/error.h"

/* Where sm_vm_start would look for this config's snapshot. */
static int locate(const sm_image *image, const sm_vm_config *given, char *dir, size_t len)
{
    sm_vm *probe = calloc(1, sizeof *probe);
    sm_vm_image_boot *b = calloc(1, sizeof *b);
    sm_vm_config c = *given;
    char fp[80];
    int err = probe && b ? 0 : sm_fail(ENOMEM, "out of memory");
    if (!err) {
        snprintf(probe->id, sizeof probe->id, "%064d", 0);
        err = sm_vm_image_prepare(probe, image, &c, b);
    }
    if (!err)
        err = sm_bake_locate(image, &c, dir, len, fp);
    if (probe)
        sm_image_info_free(probe->image);
    free(probe);
    free(b);
    return err;
}

static int bake_now(const sm_image *image, const sm_vm_config *c)
{
    sm_vm *vm;
    int err = sm_vm_start(image, c, &vm);
    if (!err)
        sm_vm_stop(vm);
    return err;
}

int sm_image_bake(const sm_image *image, const sm_bake_options *opts, char *out, size_t len)
{
    sm_bake_options o = {.size = sizeof(sm_bake_options)};
    sm_vm_config c = {.size = sizeof c};
    int err = opts ? SM_ABI_IN(&o, opts, sm_bake_options) : 0;
    if (!err && o.vm)
        err = SM_ABI_IN(&c, o.vm, sm_vm_config);
    if (err)
        return err;
    c.size = sizeof c;
    if (!image)
        return sm_fail(EINVAL, "sm_image_bake: an image is required");
    if (sm_image_snapshot(image))
        return sm_fail(EINVAL, "the image is a snapshot (sm_image_from_snapshot): VMs from it "
                       "resume it already; there is nothing to bake");
    if (!sm_bake_fits(image, &c) || c.detached || c.name)
        return sm_fail(EINVAL, "only VMs without disks, shares, a name or detaching of "
                       "their own resume a baked snapshot; there is nothing to bake for "
                       "this config");
    char dir[PATH_MAX];
    sm_snap_meta meta;
    sm_machine_file *mf = malloc(sizeof *mf);
    err = mf ? locate(image, &c, dir, sizeof dir) : sm_fail(ENOMEM, "out of memory");
    int usable = !err && access(dir, F_OK) == 0 && sm_snapshot_check(dir, &meta, mf) == 0;
    if (!err && (!usable || o.force)) {
        sm_snap_dir_remove(dir);
        if (o.booting)
            o.booting(sm_image_get_info(image)->name, o.booting_ctx);
        err = bake_now(image, &c);
        if (!err && (err = sm_snapshot_check(dir, &meta, mf)) != 0)
            err = sm_fail_context(err, "the bake left no usable snapshot");
    }
    free(mf);
    if (!err && out && snprintf(out, len, "%s", dir) >= (int)len)
        err = sm_fail(ENAMETOOLONG, "the snapshot's path does not fit the caller's buffer");
    return err;
}
