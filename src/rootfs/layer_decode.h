/* One layer read into an ordered list of what its entries say, without
 * touching the merged tree: the slow part of applying a layer (inflating,
 * tar parsing, file data into the image) that layers can do each in a
 * thread of their own. Applying the list to the tree (layer_apply.h) is
 * then metadata alone and done in layer order. */
#ifndef SM_ROOTFS_LAYER_DECODE_H
#define SM_ROOTFS_LAYER_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "rootfs/data_writer.h"
#include "rootfs/cores.h"
#include "rootfs/tree.h"
#include "util/file_feed.h"

/* The bounds of one image's layers (rootfs.h), and what they used so far;
 * `total` is shared by the layers decoded at once (atomic), and so are the
 * cores their gunzip threads may have (none while cores.total is 0). */
typedef struct sm_layer_budget {
    uint64_t max_file, max_total;
    uint64_t total;
    sm_cores cores;
} sm_layer_budget;

typedef enum sm_entry_kind {
    SM_ENTRY_ROOT,      /* the layer's own "/" or "./": its metadata */
    SM_ENTRY_DIR,
    SM_ENTRY_OTHER,     /* file, symlink, device, fifo */
    SM_ENTRY_LINK,      /* a hard link to `link` */
    SM_ENTRY_WHITEOUT,
    SM_ENTRY_SKIP,      /* a type ext4 images don't hold; only its parents count */
} sm_entry_kind;

typedef struct sm_layer_entry {
    sm_entry_kind kind;
    char *path;         /* cleaned (resolve.h); "" for the root */
    char *name;         /* as the tar has it, for errors */
    char *link;         /* SM_ENTRY_LINK: the target as the tar has it */
    sm_inode *inode;    /* ROOT, DIR, OTHER: type, metadata, data in the image */
} sm_layer_entry;

typedef struct sm_layer_entries {
    sm_layer_entry *v;
    size_t n, cap;
    int err;            /* the layer could not be read past v[n-1]: this */
    char *why;          /* and its sentence */
} sm_layer_entries;

/* Reads the layer at `path` (or as it downloads through `feed`, which may
 * be NULL), compressed with gzip, zstd, xz or bzip2 or not at all. File
 * contents go through `data` (flushed at the end), runs of zeros left as
 * holes. Returns the layer's error too; what was read before it is kept
 * in `out` so that it is applied first, as a layer read in one go would. */
int sm_layer_decode(const char *path, sm_file_feed *feed, sm_data_writer *data,
                    sm_layer_budget *budget, sm_layer_entries *out);
void sm_layer_entries_free(sm_layer_entries *e);

#endif
