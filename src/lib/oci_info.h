/* oci's descriptions of images as the public sm_image_info and
 * sm_image_ref: src/oci fills its own types, src/lib hands out these. */
#ifndef SM_LIB_OCI_INFO_H
#define SM_LIB_OCI_INFO_H

#include "oci/info.h"
#include "supermachine.h"

/* *out describes what `in` does and owns it from now on, also on failure;
 * sm_image_info_free frees both. */
int sm_image_info_from_oci(sm_oci_info *in, sm_image_info **out);

/* Into the caller's struct, whose size sm_abi_check has passed. */
void sm_image_ref_from_oci(const sm_oci_image_ref *in, sm_image_ref *out);

#endif
