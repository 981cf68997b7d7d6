/* The merged view of built images stacked as overlayfs's lower layers (top
 * first), read with libext2fs without mounting anything: what a delta
 * built over them needs to know of the names it touches. */
#ifndef SM_ROOTFS_LOWER_H
#define SM_ROOTFS_LOWER_H

#include <stddef.h>

#include "rootfs/tree.h"

#define SM_OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

typedef struct sm_lower sm_lower;

/* Opens the images read-only; `images[0]` is the top one. */
int sm_lower_open(const char *const *images, size_t n, sm_lower **out);
void sm_lower_close(sm_lower *l);

/* What `path` ("a/b"; "" is the root) is in the merged view, a symlink
 * not followed: 0 with its type, mode, owner, times and extended
 * attributes (overlayfs's own left out) in *in, whose xattrs the caller
 * clears; -ENOENT when it is not there or whited out; -ENOTDIR when
 * something above it is not a directory (a symlink included). Absence is
 * not an error sentence; a broken image is. */
int sm_lower_stat(sm_lower *l, const char *path, sm_inode *in);

#endif
