/* Root filesystems for the guest: an image's layers, applied in order with
 * their whiteouts, written as one read-only ext4 image for virtio-blk.
 *
 * Tar entries never reach a host directory: layers are merged in memory and
 * the image is written with libext2fs, so ownership, devices and
 * security.capability survive without root. How hostile names are treated:
 *  - a leading '/' is dropped ("/etc/x" is "etc/x"), as docker and GNU tar do;
 *  - ".." is applied to the name itself; one that climbs above the root fails
 *    the layer ("../x"), as docker fails it;
 *  - a symlinked parent is resolved inside the tree, with "/" meaning the
 *    image's root ("a -> /etc" then "a/passwd" writes the image's
 *    /etc/passwd), as docker (chroot) and umoci (securejoin) resolve it;
 *  - a hard link must name something already in the tree.
 * Symlink values themselves are kept as they are. */
#ifndef SM_ROOTFS_ROOTFS_H
#define SM_ROOTFS_ROOTFS_H

#include <stddef.h>
#include <stdint.h>

#include "util/file_feed.h"

typedef struct sm_rootfs_layer {
    const char *path;   /* the layer blob: tar, or tar in gzip/zstd/xz/bzip2 */
    const char *digest; /* "sha256:..." of the blob, already verified by the
                           caller; names the layer in errors and keys the cache */
    sm_file_feed *feed; /* not NULL: the blob is still downloading to `path`;
                           it is read as it arrives, and the image is kept only
                           if the feed ends with the digest verified */
} sm_rootfs_layer;

/* What one image's layers may hold, so that a hostile image (a gzip bomb,
 * a tar declaring a 1 TiB file) fails at once with a sentence instead of
 * filling the disk or burning CPU. Both count file data as the layers
 * declare it; SUPERMACHINE_MAX_FILE_SIZE and SUPERMACHINE_MAX_IMAGE_SIZE
 * set them for the CLI and the library (sm_rootfs_limits_from_env). */
#define SM_ROOTFS_MAX_FILE_DEFAULT (64ull << 30)    /* one file */
#define SM_ROOTFS_MAX_IMAGE_DEFAULT (256ull << 30)  /* all layers' files together */

typedef struct sm_rootfs_options {
    /* Cache root for sm_rootfs_get: images live in <data_dir>/rootfs/. */
    const char *data_dir;
    uint64_t max_file_bytes;    /* 0: SM_ROOTFS_MAX_FILE_DEFAULT */
    uint64_t max_image_bytes;   /* 0: SM_ROOTFS_MAX_IMAGE_DEFAULT */
    unsigned threads;           /* layers decoded at once; 0: one per core */
} sm_rootfs_options;

/* Fill the limits of o from the environment; a value that is not a size
 * ("64g", "512m", bytes) fails with a sentence naming the variable. */
int sm_rootfs_limits_from_env(sm_rootfs_options *o);

/* Bumped whenever the same layers would give a different image. */
#define SM_ROOTFS_FORMAT 1

/* Applies `layers` (bottom first) and writes the image to `out_image`
 * atomically: a failure, even a crash, never leaves a partial image there.
 * `opts` may be NULL. */
int sm_rootfs_build(const sm_rootfs_layer *layers, size_t n, const char *out_image,
                    const sm_rootfs_options *opts);

/* The cache key of a layer chain: hex SHA-256 over the format version and
 * the ordered layer digests (every layer needs one). */
int sm_rootfs_cache_key(const sm_rootfs_layer *layers, size_t n, char key[65]);

/* The image for `layers` under opts->data_dir, built on first use and
 * reused after that; its path goes to `path`. Concurrent callers build it
 * once. Next to <data_dir>/rootfs/<key>.ext4, <key>.layers lists its layer
 * digests, one a line, so that the image store's gc can delete images
 * whose layers no image has any more. */
int sm_rootfs_get(const sm_rootfs_layer *layers, size_t n, const sm_rootfs_options *opts,
                  char *path, size_t path_len);

#endif
