/* A VM whose root is an image: how it boots (disks, command line,
 * initramfs) and the per-VM setup after its agent answers. */
#ifndef SM_LIB_VM_IMAGE_H
#define SM_LIB_VM_IMAGE_H

#include <limits.h>

#include "lib/vm_int.h"
#include "supermachine.h"
#include "vmm/machine.h"

typedef struct sm_vm_image_boot {
    sm_disk disks[SM_MACHINE_MAX_DISKS];
    char cmdline[2048];
    char initrd[PATH_MAX];
} sm_vm_image_boot;

/* *c (the caller's config, copied) is changed to boot `img`: its disk
 * first (vda), the upper disk if any, then the caller's disks, then the
 * images its disk builds on; the sm-init-only initramfs; sm_root=,
 * sm_lower= and sm_upper= on the command line. */
int sm_vm_image_prepare(sm_vm *vm, const sm_image *img, sm_vm_config *c, sm_vm_image_boot *b);

/* Hostname, clock, RNG seed, and with_etc: /etc/hostname, /etc/hosts,
 * /etc/resolv.conf. What makes a VM (booted or restored) its own. */
int sm_vm_image_setup(sm_vm *vm, const sm_vm_config *c, int with_etc);

/* The given hostname, checked, or the VM id's first 12 hex digits. */
int sm_vm_pick_hostname(sm_vm *vm, const char *given);

#endif
