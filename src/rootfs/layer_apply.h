/* One layer blob applied on top of the merged tree. */
#ifndef SM_ROOTFS_LAYER_APPLY_H
#define SM_ROOTFS_LAYER_APPLY_H

#include "rootfs/spool.h"
#include "rootfs/tree.h"

/* The bounds of one image's layers (rootfs.h), and what they used so far. */
typedef struct sm_layer_budget {
    uint64_t max_file, max_total;
    uint64_t total;
} sm_layer_budget;

/* Reads the tar at `path`, compressed with gzip, zstd, xz or bzip2 or not at
 * all, told apart by its bytes and never by a media type (real tools label
 * layers wrongly). `layer` is the 1-based position, bottom first. File
 * contents go to `spool`, its runs of zeros left as holes. A corrupt or
 * truncated blob, or one past the budget, fails with a sentence. */
int sm_layer_apply(sm_tree *t, sm_spool *spool, const char *path, unsigned layer,
                   sm_layer_budget *budget);

#endif
