/* Images in the store: finding them by what a user types, and describing
 * them (sm_oci_info). */
#ifndef SM_OCI_IMAGE_INFO_H
#define SM_OCI_IMAGE_INFO_H

#include "oci/info.h"
#include "oci/store_index.h"

/* The entries `reference` means: the name it normalises to, else every name
 * of the image whose manifest digest (or config digest) it is or begins with
 * (4 hex digits at least). Errors when nothing or several images match. */
int sm_image_lookup(const sm_store *s, const char *reference, sm_index_entry **out,
                    size_t *count);

/* Describe the image an entry names, from its manifest and config. */
int sm_image_info_load(const sm_store *s, const sm_index_entry *e, sm_oci_info **out);
void sm_oci_info_free(sm_oci_info *info);

#endif
