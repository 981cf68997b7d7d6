#include "oci/layers.h"

#include <stdlib.h>
#include <string.h>

#include "oci/image_info.h"
#include "util/error.h"

static int find_layers(sm_oci_layers *l, const char *reference)
{
    sm_index_entry *e;
    size_t n;
    int err = sm_image_lookup(&l->store, reference, &e, &n);
    if (err)
        return err;
    err = sm_image_info_load(&l->store, &e[0], &l->info);
    free(e);
    if (err)
        return err;
    l->paths = calloc(l->info->layer_count + 1, sizeof *l->paths);
    if (!l->paths)
        return sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; i < l->info->layer_count; i++) {
        const char *d = l->info->layers[i].digest;
        if (!sm_store_has_blob(&l->store, d))
            return sm_fail(ENOENT, "layer %s of %s is missing from the store; pull the image "
                           "again", d, reference);
        sm_store_blob_path(&l->store, d, l->paths[i], sizeof l->paths[i]);
    }
    l->count = l->info->layer_count;
    return 0;
}

int sm_oci_layers_open(const char *reference, sm_oci_layers *out)
{
    memset(out, 0, sizeof *out);
    int err = sm_store_open(&out->store, NULL, SM_STORE_SHARED);
    if (err)
        return err;
    err = find_layers(out, reference);
    if (err)
        sm_oci_layers_close(out);
    return err;
}

void sm_oci_layers_close(sm_oci_layers *l)
{
    sm_oci_info_free(l->info);
    free(l->paths);
    sm_store_close(&l->store);
    memset(l, 0, sizeof *l);
    l->store.lock_fd = -1;
}
