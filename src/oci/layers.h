/* An image's layers as files in the store, bottom first, for building its
 * root filesystem (src/rootfs takes a path and a digest per layer). The
 * store's shared lock is held until sm_oci_layers_close, so gc cannot
 * delete a layer while it is read. */
#ifndef SM_OCI_LAYERS_H
#define SM_OCI_LAYERS_H

#include <limits.h>

#include "oci/info.h"
#include "oci/store.h"

typedef struct sm_oci_layers {
    sm_store store;           /* store.root is the data directory */
    sm_oci_info *info;      /* digest, config (what run needs), layers */
    char (*paths)[PATH_MAX];  /* paths[i] holds info->layers[i].digest */
    size_t count;
} sm_oci_layers;

/* reference: as sm_image_lookup takes it. Fails if a layer is missing. */
int sm_oci_layers_open(const char *reference, sm_oci_layers *out);
void sm_oci_layers_close(sm_oci_layers *l);

#endif
