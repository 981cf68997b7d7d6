/* One layer's entries (layer_decode.h) applied on top of the merged tree. */
#ifndef SM_ROOTFS_LAYER_APPLY_H
#define SM_ROOTFS_LAYER_APPLY_H

#include "rootfs/layer_decode.h"
#include "rootfs/data_region.h"
#include "rootfs/tree.h"

/* Applies `e` as layer `layer` (1-based, bottom first), taking the inodes
 * out of it; then fails with the error the layer's reading stopped at, if
 * any. A hard link, a whiteout or a path that cannot apply fails with a
 * sentence naming the entry. */
int sm_layer_merge(sm_tree *t, sm_layer_entries *e, unsigned layer);

/* Decodes the layer at `path` and merges it at once: one layer at a time,
 * for callers that have no reason to read several together. Its files go
 * in a lane of their own, after those of the layers applied before. */
int sm_layer_apply(sm_tree *t, sm_data_region *data, const char *path, unsigned layer,
                   sm_layer_budget *budget);

#endif
