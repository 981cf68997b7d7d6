/* The store's images as the public image calls use them (src/lib gives
 * them their names: sm_image_inspect, _list, _remove, _tag, _save, _gc). */
#ifndef SM_OCI_IMAGES_H
#define SM_OCI_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/info.h"

/* Look an image up as sm_image_lookup does; free *out with sm_oci_info_free. */
int sm_oci_inspect(const char *reference, sm_oci_info **out);

/* Every named image, sorted by name, a damaged one by name and digest only. */
int sm_oci_list(sm_oci_info ***out, size_t *count);

/* Remove a name; a digest or ID of several names removes all of them with
 * force, else none (-EBUSY). */
int sm_oci_remove(const char *reference, bool force);

/* Name the image `source` also `target` (docker tag). */
int sm_oci_tag(const char *source, const char *target);

/* The n images as one tar on fd, for docker load and OCI tools. */
int sm_oci_save(const char *const *refs, size_t n, int fd);

typedef struct sm_oci_gc_result {
    int swept;                  /* the store was locked: the counts hold, also on error */
    uint64_t blobs_removed;
    uint64_t bytes_freed;
} sm_oci_gc_result;

/* Delete the blobs and root filesystems no named image refers to. */
int sm_oci_gc(sm_oci_gc_result *r);

#endif
