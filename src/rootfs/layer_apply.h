/* One layer blob applied on top of the merged tree. */
#ifndef SM_ROOTFS_LAYER_APPLY_H
#define SM_ROOTFS_LAYER_APPLY_H

#include "rootfs/spool.h"
#include "rootfs/tree.h"

/* Reads the tar at `path`, compressed with gzip, zstd, xz or bzip2 or not at
 * all, told apart by its bytes and never by a media type (real tools label
 * layers wrongly). `layer` is the 1-based position, bottom first. File
 * contents go to `spool`. A corrupt or truncated blob fails with a sentence. */
int sm_layer_apply(sm_tree *t, sm_spool *spool, const char *path, unsigned layer);

#endif
