/* Baked snapshots: the fingerprint that names one, where they live, and
 * the bake that the first VM of a config does on its way. */
#ifndef SM_LIB_BAKE_H
#define SM_LIB_BAKE_H

#include <limits.h>
#include <stddef.h>

#include "lib/vm_int.h"

/* Whether a VM of this config (as the caller gave it) can use a baked
 * snapshot: from an image, without disks or shares of its own. */
int sm_bake_fits(const sm_image *image, const sm_vm_config *c);

/* The snapshot directory for a VM about to boot with *c (after
 * sm_vm_image_prepare): <data dir>/snapshots/<fingerprint>. The
 * fingerprint covers the image, the root filesystem file, the kernel, the
 * initramfs, the worker, the command line, memory, vCPUs, network and
 * the snapshot format version. */
int sm_bake_locate(const sm_image *image, const sm_vm_config *c, char *dir, size_t len,
                   char fingerprint[80]);

/* Take the bake of a VM (one that just booted, before anything made it its
 * own; warm: after one exec of the image's shell, so that resumed VMs
 * find it in their page cache); losing a race to a concurrent bake is
 * success. */
int sm_bake_take(sm_vm *vm, const char *dir, const char *fingerprint, int warm);

/* Remove a baked snapshot that failed its checks, so it is baked again. */
void sm_bake_discard(const char *dir);

#endif
