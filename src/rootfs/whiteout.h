/* OCI whiteouts: ".wh.NAME" hides NAME of the layers below, and a
 * ".wh..wh..opq" entry makes its directory hide everything below it. What the
 * same layer adds is never hidden (OCI image-spec, layer.md), whatever the
 * order of the entries in the tar. */
#ifndef SM_ROOTFS_WHITEOUT_H
#define SM_ROOTFS_WHITEOUT_H

#include <stdbool.h>

#include "rootfs/tree.h"

#define SM_WHITEOUT_PREFIX ".wh."
#define SM_WHITEOUT_OPAQUE ".wh..wh..opq"

static inline bool sm_is_whiteout(const char *base)
{
    return base[0] == '.' && base[1] == 'w' && base[2] == 'h' && base[3] == '.';
}

/* Applies the whiteout entry `base` found in directory `dir` by layer `layer`. */
int sm_whiteout_apply(sm_tree *t, sm_node *dir, const char *base, unsigned layer);

#endif
