/* The program a process names, found in the container's root as its
 * PATH says, before anything starts: runc refuses a missing program at
 * create, not by a 127 later, and engines expect that. */
#ifndef SM_OCI_LOOKPATH_H
#define SM_OCI_LOOKPATH_H

#include <stddef.h>

#include "oci-runtime/spec.h"

/* 0, or -1 with a sentence in err. Paths are resolved inside root, as a
 * chroot would, so the container's own symlinks cannot lead outside. */
int sm_oci_lookpath(const char *root, const sm_oci_process *p, char *err, size_t len);

#endif
