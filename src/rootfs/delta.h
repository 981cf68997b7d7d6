/* A delta: layers applied over an image already built (the lower, a chain
 * of images top first) instead of over nothing. The tree then holds only
 * what these layers add, and what they take away from the lower becomes
 * overlayfs's own marks: a 0:0 character device for a removed name, and
 * trusted.overlay.opaque="y" on a directory whose lower contents are gone.
 * Stacked over the lower by the guest's overlayfs, the delta shows the
 * very tree a full build of all the layers gives. What it cannot show the
 * same way (a parent that is a symlink in the lower, a hard link to a file
 * of the lower, ...) fails the delta, and the caller builds in full. */
#ifndef SM_ROOTFS_DELTA_H
#define SM_ROOTFS_DELTA_H

#include <stdbool.h>

#include "rootfs/lower.h"
#include "rootfs/tree.h"

typedef struct sm_delta_mark sm_delta_mark;

typedef struct sm_delta {
    sm_lower *lower;
    sm_delta_mark *marks;   /* paths of the lower hidden so far */
    size_t n_marks, cap_marks;
} sm_delta;

/* Makes `t` (freshly initialised) a delta over `lower`, which must outlive
 * it: the root takes the lower root's attributes, as overlayfs shows the
 * topmost layer's. */
int sm_delta_begin(sm_tree *t, sm_delta *d, sm_lower *lower);
void sm_delta_free(sm_delta *d);

/* A directory the layers need but do not carry themselves (`in`, new,
 * under `parent`): the lower's attributes for it when the lower has it. */
int sm_delta_implicit_dir(sm_tree *t, const sm_node *parent, const char *name, size_t len,
                          sm_inode *in);

/* The lower's `name` in `dir` is gone (name NULL: all of `dir`'s lower
 * contents, an opaque marker). */
int sm_delta_hide(sm_tree *t, const sm_node *dir, const char *name);

/* A whiteout `base` in `dir_path`, a directory the delta does not have
 * yet: applied when the lower has that directory. */
int sm_delta_whiteout_below(sm_tree *t, const char *dir_path, const char *base,
                            unsigned layer);

/* After the last layer: the whiteout devices and opaque attributes. */
int sm_delta_finish(sm_tree *t);

#endif
