/* Paths inside the merged tree: tar entry names made safe, and symlinks
 * resolved against the tree itself (never against the host), the way
 * `docker load` (in a chroot) and `umoci unpack` (securejoin) resolve them. */
#ifndef SM_ROOTFS_RESOLVE_H
#define SM_ROOTFS_RESOLVE_H

#include <stddef.h>

#include "rootfs/tree.h"

/* Turns a tar entry name into a clean relative path in `out`: a leading '/'
 * is dropped (as docker and GNU tar do), "." and empty components vanish and
 * ".." is applied lexically. A name whose ".." climbs above the root is
 * refused (-EINVAL), as docker refuses it. "" means the root itself. */
int sm_path_clean(const char *name, char *out, size_t out_len);

enum {
    SM_WALK_CREATE = 1,      /* make missing components directories */
    SM_WALK_FOLLOW_LAST = 2, /* also follow a symlink in the last component */
};

/* Resolves `path` from directory `dir`; symlinks in the middle of the path
 * are followed inside the tree (an absolute target starts at the tree's root
 * and ".." stops there), so the result is always a node of the tree. Created
 * directories are stamped with `layer`. */
int sm_tree_walk(sm_tree *t, sm_node *dir, const char *path, unsigned flags, unsigned layer,
                 sm_node **out);

#endif
