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

#include <limits.h>
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
    uint64_t size;      /* the blob's bytes as its manifest says, where its
                           files go in the image is planned from it; 0: the
                           size of the file at `path` */
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
    unsigned threads;           /* decoding threads: layers at once, and a layer's
                                 * gunzip beside it when fewer; 0: one per core */
} sm_rootfs_options;

/* Fill the limits of o from the environment; a value that is not a size
 * ("64g", "512m", bytes) fails with a sentence naming the variable. */
int sm_rootfs_limits_from_env(sm_rootfs_options *o);

/* Bumped whenever the same layers would give a different tree, which an
 * image built before would not show. Where the files' bytes lie in the
 * image may change without it: an image built before is as good. */
#define SM_ROOTFS_FORMAT 1

/* Applies `layers` (bottom first) and writes the image to `out_image`
 * atomically: a failure, even a crash, never leaves a partial image there.
 * `opts` may be NULL. */
int sm_rootfs_build(const sm_rootfs_layer *layers, size_t n, const char *out_image,
                    const sm_rootfs_options *opts);

/* A delta: layers base_n..n-1 applied over the built image of layers
 * 0..base_n-1, whose chain of images (top first) is `lower`, as overlayfs
 * will stack them (delta.h). Fails where the delta cannot show what a full
 * build shows; the image is then to be built in full. */
int sm_rootfs_build_delta(const sm_rootfs_layer *layers, size_t n, size_t base_n,
                          const char *const *lower, size_t nlower, const char *out_image,
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

/* An image whose layers extend those of an image already built is built
 * as a delta over it: only its own layers, and <key>.parent names the key
 * it builds on (written before the image). Its root is then the chain of
 * images, its own first, stacked by overlayfs. A chain never grows past
 * SM_ROOTFS_MAX_CHAIN images (each is one disk of the VM): a deeper one
 * is built in full. */
#define SM_ROOTFS_MAX_CHAIN 4

typedef struct sm_rootfs_chain {
    char paths[SM_ROOTFS_MAX_CHAIN][PATH_MAX];  /* the image's own first */
    char keys[SM_ROOTFS_MAX_CHAIN][65];
    size_t n;
} sm_rootfs_chain;

/* sm_rootfs_get, giving the whole chain. */
int sm_rootfs_get_chain(const sm_rootfs_layer *layers, size_t n, const sm_rootfs_options *opts,
                        sm_rootfs_chain *out);

/* The chain of the built image `key` in directory `dir` (<data_dir>/rootfs):
 * -ENOENT with a sentence when it or an image it builds on is missing. */
int sm_rootfs_chain_read(const char *dir, const char *key, sm_rootfs_chain *out);

/* Records that `key` builds on `parent` (atomically). */
int sm_rootfs_parent_write(const char *dir, const char *key, const char *parent);

/* The longest prefix of `layers` (shorter than all of them) whose image is
 * built with room left in its chain: 1 with its length and chain, else 0. */
int sm_rootfs_find_base(const sm_rootfs_layer *layers, size_t n, const char *dir,
                        size_t *base_n, sm_rootfs_chain *base);

#endif
