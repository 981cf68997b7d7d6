#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "rootfs/data_region.h"
#include "rootfs/delta.h"
#include "rootfs/ext4.h"
#include "rootfs/layers_apply.h"
#include "rootfs/outfile.h"
#include "rootfs/rootfs.h"
#include "util/error.h"
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

/* The tree of layers first..n-1, over `lower` when it is not NULL. */
static int apply_tree(sm_tree *t, sm_data_region *data, const sm_rootfs_layer *layers,
                      size_t first, size_t n, sm_lower *lower, const sm_rootfs_options *opts)
{
    sm_delta d = {0};
    int err = lower ? sm_delta_begin(t, &d, lower) : 0;
    if (!err)
        err = sm_layers_apply(t, data, layers + first, n - first, opts);
    if (!err && lower)
        err = sm_delta_finish(t);
    t->delta = NULL;
    sm_delta_free(&d);
    return err;
}

/* The layers' files are written into the image file itself as they are
 * read (data_region.h); the filesystem is then made around them. */
static int write_image(const sm_rootfs_layer *layers, size_t first, size_t n, sm_lower *lower,
                       const char *out, const uint8_t uuid[16], const sm_rootfs_options *opts)
{
    sm_outfile o;
    int err = sm_outfile_create(&o, out);
    if (err)
        return err;
    sm_data_region data;
    if (!(err = sm_data_region_init(&data, o.fd, out))) {
        sm_tree tree;
        if (!(err = sm_tree_init(&tree))) {
            err = apply_tree(&tree, &data, layers, first, n, lower, opts);
            if (!err)
                err = sm_ext4_write(&tree, &data, o.path, out, uuid);
            sm_tree_free(&tree);
        }
        sm_data_region_free(&data);
    }
    if (!err)
        err = sm_outfile_commit(&o, out);
    sm_outfile_abort(&o);
    return err;
}

static int build(const sm_rootfs_layer *layers, size_t first, size_t n, sm_lower *lower,
                 const char *out_image, const sm_rootfs_options *opts)
{
    uint8_t uuid[16];
    int err = image_uuid(layers, n, uuid);
    if (!err)
        err = write_image(layers, first, n, lower, out_image, uuid, opts);
    if (err)
        return sm_fail_context(err, "building the root filesystem");
    sm_debug("rootfs: wrote %s from %zu layers%s", out_image, n - first, lower ? " (a delta)" : "");
    return 0;
}

int sm_rootfs_build(const sm_rootfs_layer *layers, size_t n, const char *out_image,
                    const sm_rootfs_options *opts)
{
    return build(layers, 0, n, NULL, out_image, opts);
}

int sm_rootfs_build_delta(const sm_rootfs_layer *layers, size_t n, size_t base_n,
                          const char *const *lower, size_t nlower, const char *out_image,
                          const sm_rootfs_options *opts)
{
    if (base_n == 0 || base_n >= n)
        return sm_fail(EINVAL, "a delta needs layers beyond its base's %zu (of %zu)", base_n, n);
    sm_lower *l;
    int err = sm_lower_open(lower, nlower, &l);
    if (err)
        return err;
    err = build(layers, base_n, n, l, out_image, opts);
    sm_lower_close(l);
    return err;
}
