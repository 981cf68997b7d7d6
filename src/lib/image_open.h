/* What sm_image_open shares with imports: the step that builds an image's
 * root filesystem before the image is listed. */
#ifndef SM_LIB_IMAGE_OPEN_H
#define SM_LIB_IMAGE_OPEN_H

#include <limits.h>

#include "oci/pull.h"
#include "rootfs/rootfs.h"
#include "supermachine.h"

/* An image from the store with its root filesystem built, or a snapshot
 * (sm_image_from_snapshot: snapshot set, info that of the image it was
 * taken of, if any, and no root filesystem of its own). */
struct sm_image {
    sm_image_info *info;
    sm_rootfs_chain rootfs;
    char snapshot[PATH_MAX];
};

/* The snapshot directory an image from sm_image_from_snapshot resumes;
 * NULL for other images (and NULL). */
const char *sm_image_snapshot(const sm_image *image);

/* The image's root filesystem: its own image first, then those it builds
 * on (sm_image_rootfs gives the first alone). */
const sm_rootfs_chain *sm_image_rootfs_chain(const sm_image *image);

/* A hook for sm_oci_pull/sm_oci_import whose ctx is o (its building
 * callback hears of each build); o must outlive the hook's use. */
sm_pull_hook sm_image_build_hook(const sm_image_open_options *o);

#endif
