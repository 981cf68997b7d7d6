/* The image config: what to run and how (Entrypoint, Cmd, Env, ...). */
#ifndef SM_OCI_CONFIG_H
#define SM_OCI_CONFIG_H

#include <stddef.h>

#include "oci/digest.h"
#include "oci/info.h"

/* Fill the config fields of `info` (os, architecture, variant, created,
 * entrypoint ... labels) from the config JSON. `what` names it in errors. */
int sm_image_config_parse(const char *data, size_t len, const char *what,
                          sm_oci_info *info);

/* The config's rootfs.diff_ids (digests of the uncompressed layers); *out
 * is freed by the caller. */
int sm_image_config_diff_ids(const char *data, size_t len, const char *what,
                             char (**out)[SM_DIGEST_STR], size_t *count);

/* Free what sm_image_config_parse allocated, leaving the rest of info. */
void sm_image_config_clear(sm_oci_info *info);

#endif
