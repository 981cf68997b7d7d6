/* sm_image_open: an image in the store, pulled if need be, with its root
 * filesystem built (or found in the cache). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/abi.h"
#include "lib/image_open.h"
#include "lib/oci_info.h"
#include "lib/pull_options.h"
#include "oci/layers.h"
#include "oci/pull.h"
#include "rootfs/rootfs.h"
#include "supermachine.h"
#include "util/error.h"

/* The cached root filesystem of `layers`, built if missing; o->building
 * hears of a build before it starts. */
static int get_rootfs(const char *data_dir, const sm_rootfs_layer *layers, size_t n,
                      const char *name, const sm_image_open_options *o, sm_rootfs_chain *out)
{
    sm_rootfs_options ro = {.data_dir = data_dir};
    char key[65], probe[PATH_MAX];
    int err = sm_rootfs_limits_from_env(&ro);
    if (!err)
        err = sm_rootfs_cache_key(layers, n, key);
    if (!err && o->building) {
        snprintf(probe, sizeof probe, "%s/rootfs/%s.ext4", data_dir, key);
        if (access(probe, R_OK) != 0)
            o->building(name, o->building_ctx);
    }
    return err ? err : sm_rootfs_get_chain(layers, n, &ro, out);
}

/* The image's layers as the root filesystem builder takes them; feeds
 * may be NULL. */
static int build_from(const sm_store *s, const sm_manifest *m, const char *name,
                      const sm_image_open_options *o, sm_file_feed *const *feeds)
{
    sm_rootfs_layer *layers = calloc(m->count + 1, sizeof *layers);
    char (*paths)[PATH_MAX] = calloc(m->count + 1, sizeof *paths);
    sm_rootfs_chain *rootfs = malloc(sizeof *rootfs);
    int err = layers && paths && rootfs ? 0 : sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; !err && i < m->count; i++) {
        sm_store_blob_path(s, m->items[i].digest, paths[i], sizeof paths[i]);
        layers[i] = (sm_rootfs_layer){paths[i], m->items[i].digest, feeds ? feeds[i] : NULL,
                                      m->items[i].size > 0 ? (uint64_t)m->items[i].size : 0};
    }
    if (!err)
        err = get_rootfs(s->root, layers, m->count, name, o, rootfs);
    free(rootfs);
    free(paths);
    free(layers);
    return err;
}

/* A pull lists the image only once its root filesystem is built: a build
 * that fails (a full disk) fails the pull, and leaves no image that was
 * pulled but cannot run. */
static int build_before_listing(void *ctx, const sm_store *s, const sm_manifest *m,
                                const char *name)
{
    return build_from(s, m, name, ctx, NULL);
}

/* Built while the layers download, each decoded as its bytes arrive; then
 * build_before_listing finds it done. */
static int build_while_pulling(void *ctx, const sm_store *s, const sm_manifest *m,
                               const char *name, sm_file_feed *const *feeds)
{
    return build_from(s, m, name, ctx, feeds);
}

sm_pull_hook sm_image_build_hook(const sm_image_open_options *o)
{
    return (sm_pull_hook){.ready = build_before_listing, .early = build_while_pulling,
                          .ctx = (void *)o};
}

static int ensure_stored(const char *ref, const sm_image_open_options *o)
{
    sm_image_info *info = NULL;
    int err = o->pull_policy == SM_PULL_ALWAYS ? -ENOENT : sm_image_inspect(ref, &info);
    sm_image_info_free(info);
    if (err != -ENOENT || o->pull_policy == SM_PULL_NEVER)
        return err;
    sm_pull_hook hook = sm_image_build_hook(o);
    sm_pull_options keep;
    sm_oci_pull_options po;
    err = sm_pull_options_to_oci(o->pull, &keep, &po);
    return err ? err : sm_oci_pull(ref, &po, &hook, NULL);
}

/* Takes the info from `l` (so it outlives the store lock). */
static int build_rootfs(sm_image *img, sm_oci_layers *l, const sm_image_open_options *o)
{
    sm_rootfs_layer *layers = calloc(l->count + 1, sizeof *layers);
    if (!layers)
        return sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; i < l->count; i++)
        layers[i] = (sm_rootfs_layer){l->paths[i], l->info->layers[i].digest, NULL,
                                      l->info->layers[i].size};
    int err = get_rootfs(l->store.root, layers, l->count,
                         l->info->name[0] ? l->info->name : l->info->digest, o, &img->rootfs);
    free(layers);
    int info_err = sm_image_info_from_oci(l->info, &img->info);
    l->info = NULL;
    return err ? err : info_err;
}

int sm_image_open(const char *reference, const sm_image_open_options *opts, sm_image **out)
{
    sm_image_open_options o = {.size = sizeof(sm_image_open_options)};
    if (!reference || !out)
        return sm_fail(EINVAL, "sm_image_open: a reference and out are required");
    int err = opts ? SM_ABI_IN(&o, opts, sm_image_open_options) : 0;
    if (!err)
        err = ensure_stored(reference, &o);
    if (err)
        return err;
    sm_image *img = calloc(1, sizeof *img);
    if (!img)
        return sm_fail(ENOMEM, "out of memory");
    sm_oci_layers l;
    if ((err = sm_oci_layers_open(reference, &l)) == 0) {
        err = build_rootfs(img, &l, &o);
        sm_oci_layers_close(&l);
    }
    if (err) {
        sm_image_close(img);
        return err;
    }
    *out = img;
    return 0;
}

const sm_image_info *sm_image_get_info(const sm_image *image)
{
    return image ? image->info : NULL;
}

const char *sm_image_rootfs(const sm_image *image)
{
    return image && !image->snapshot[0] ? image->rootfs.paths[0] : NULL;
}

const char *sm_image_snapshot(const sm_image *image)
{
    return image && image->snapshot[0] ? image->snapshot : NULL;
}

const sm_rootfs_chain *sm_image_rootfs_chain(const sm_image *image)
{
    return &image->rootfs;
}

void sm_image_close(sm_image *image)
{
    if (!image)
        return;
    sm_image_info_free(image->info);
    free(image);
}
