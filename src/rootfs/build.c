#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "rootfs/ext4.h"
#include "rootfs/layers_apply.h"
#include "rootfs/outfile.h"
#include "rootfs/rootfs.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

/* Same layers, same filesystem UUID: the image is then byte-for-byte
 * reproducible. Without digests there is nothing to derive it from. */
static int image_uuid(const sm_rootfs_layer *layers, size_t n, uint8_t uuid[16])
{
    bool all = n > 0;
    for (size_t i = 0; i < n; i++)
        all = all && layers[i].digest;
    char key[65];
    if (all && sm_rootfs_cache_key(layers, n, key) == 0) {
        for (int i = 0; i < 16; i++)
            sscanf(key + 2 * i, "%2hhx", &uuid[i]);
    } else if (getrandom(uuid, 16, 0) != 16) {
        return sm_fail(errno, "cannot get random bytes: %s", strerror(errno));
    }
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x80); /* RFC 9562 version 8: custom */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
    return 0;
}

static int write_image(sm_tree *t, sm_spool *spool, const char *out, const uint8_t uuid[16])
{
    sm_outfile o;
    int err = sm_outfile_create(&o, out);
    if (err)
        return err;
    err = sm_ext4_write(t, spool, o.path, out, uuid);
    if (!err)
        err = sm_outfile_commit(&o, out);
    sm_outfile_abort(&o);
    return err;
}

int sm_rootfs_build(const sm_rootfs_layer *layers, size_t n, const char *out_image,
                    const sm_rootfs_options *opts)
{
    char dir[PATH_MAX];
    sm_path_dir(out_image, dir, sizeof dir);
    uint8_t uuid[16];
    int err = image_uuid(layers, n, uuid);
    if (err)
        return err;
    sm_spool spool;
    if ((err = sm_spool_open(&spool, dir)))
        return err;
    sm_tree tree;
    if (!(err = sm_tree_init(&tree))) {
        err = sm_layers_apply(&tree, &spool, layers, n, opts);
        if (!err)
            err = write_image(&tree, &spool, out_image, uuid);
        sm_tree_free(&tree);
    }
    sm_spool_close(&spool);
    if (err)
        return sm_fail_context(err, "building the root filesystem");
    sm_debug("rootfs: wrote %s from %zu layers", out_image, n);
    return 0;
}
