/* The public sm_pull_options as oci's pull takes them, for sm_image_pull
 * and the pulls of sm_image_open. */
#ifndef SM_LIB_PULL_OPTIONS_H
#define SM_LIB_PULL_OPTIONS_H

#include "oci/pull.h"
#include "supermachine.h"

/* Check opts' size (NULL: the defaults) and fill *out from a copy of opts
 * in *keep, which out's progress reports go through to the caller's
 * callback; keep must outlive the use of out. */
int sm_pull_options_to_oci(const sm_pull_options *opts, sm_pull_options *keep,
                           sm_oci_pull_options *out);

#endif
