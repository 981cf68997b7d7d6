/* All of an image's layers applied to the tree: each layer decoded in a
 * thread of its own (as many as there are cores), while the layers below
 * it are still decoding or downloading, and merged in layer order. */
#ifndef SM_ROOTFS_LAYERS_APPLY_H
#define SM_ROOTFS_LAYERS_APPLY_H

#include "rootfs/rootfs.h"
#include "rootfs/data_region.h"
#include "rootfs/tree.h"

/* Fails with the error of the lowest layer that has one, as applying them
 * one after the other would; a layer still downloading is used only once
 * its download ended with its digest verified. */
int sm_layers_apply(sm_tree *t, sm_data_region *data, const sm_rootfs_layer *layers, size_t n,
                    const sm_rootfs_options *opts);

#endif
