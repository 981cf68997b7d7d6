/* gc of the root filesystem images in <data_dir>/rootfs (src/rootfs's
 * cache: <key>.ext4, <key>.layers, and <key>.parent for a delta). */
#ifndef SM_OCI_GC_ROOTFS_H
#define SM_OCI_GC_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>

/* Whether every layer the list file at `path` names belongs to an image. */
typedef bool (*sm_layers_live_fn)(const char *path, void *ctx);

/* Deletes the images of `dir` that no image needs, adding the bytes
 * freed to *freed. */
void sm_gc_rootfs(const char *dir, sm_layers_live_fn live, void *ctx, uint64_t *freed);

#endif
