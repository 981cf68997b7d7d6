/* A VM whose root is a host directory (sm_vm_config.root_dir), as an OCI
 * runtime's root.path or podman's --rootfs: shared over 9p, mounted by
 * sm-init as the root, written in place. */
#ifndef SM_LIB_VM_ROOTDIR_H
#define SM_LIB_VM_ROOTDIR_H

#include "lib/vm_image.h"
#include "lib/vm_int.h"
#include "supermachine.h"

/* Before anything starts: root_dir is an existing directory and nothing
 * given with it contradicts it (an image, a snapshot, an upper disk). */
int sm_vm_root_dir_check(const sm_image *image, const sm_vm_config *c);

/* *c (the caller's config, copied) is changed to boot from root_dir: the
 * sm-init-only initramfs and sm_root=9p:TAG on the command line (the
 * share itself is added to the worker's spec, vm_spawn.c); read_only
 * becomes root_read_only. */
int sm_vm_root_dir_prepare(sm_vm *vm, sm_vm_config *c, sm_vm_image_boot *b);

#endif
