/* What sm_image_open shares with imports: the step that builds an image's
 * root filesystem before the image is listed. */
#ifndef SM_LIB_IMAGE_OPEN_H
#define SM_LIB_IMAGE_OPEN_H

#include "oci/pull.h"
#include "rootfs/rootfs.h"
#include "supermachine.h"

/* The image's root filesystem: its own image first, then those it builds
 * on (sm_image_rootfs gives the first alone). */
const sm_rootfs_chain *sm_image_rootfs_chain(const sm_image *image);

/* A hook for sm_oci_pull/sm_oci_import whose ctx is o (its building
 * callback hears of each build); o must outlive the hook's use. */
sm_pull_hook sm_image_build_hook(const sm_image_open_options *o);

#endif
