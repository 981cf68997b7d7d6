/* sm_image_from_snapshot: a snapshot as an image to start VMs from, so
 * that sm_vm_start, pools and the bindings take one kind of handle. It is
 * checked now (a damaged or foreign snapshot fails here, not at the first
 * start) and resumed by every VM started from it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/image_open.h"
#include "lib/vm_restore.h"
#include "supermachine.h"
#include "util/error.h"

static int check(sm_image *img, const char *dir)
{
    if (!realpath(dir, img->snapshot))
        return sm_fail(errno, "snapshot %s: %s", dir, strerror(errno));
    sm_snap_meta meta;
    sm_machine_file *mf = malloc(sizeof *mf);
    int err = mf ? sm_snapshot_check(img->snapshot, &meta, mf) : sm_fail(ENOMEM, "out of memory");
    free(mf);
    /* The image it was taken of must still be stored: its root
     * filesystem is one of the VM's disks. */
    if (!err && meta.manifest_digest[0] &&
        (err = sm_image_inspect(meta.manifest_digest, &img->info)) != 0)
        err = sm_fail_context(err, "the image snapshot %s was taken of, %s", dir,
                              meta.image_ref);
    return err;
}

int sm_image_from_snapshot(const char *dir, sm_image **out)
{
    if (!dir || !out)
        return sm_fail(EINVAL, "sm_image_from_snapshot: dir and out are required");
    sm_image *img = calloc(1, sizeof *img);
    if (!img)
        return sm_fail(ENOMEM, "out of memory");
    int err = check(img, dir);
    if (err) {
        sm_image_close(img);
        return err;
    }
    *out = img;
    return 0;
}
