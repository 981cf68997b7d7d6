/* Entering the image's root filesystem at boot. */
#ifndef SM_GUEST_ROOT_SETUP_H
#define SM_GUEST_ROOT_SETUP_H

/* With sm_root=DEV from the kernel command line: mount the image's disk
 * and a writable layer as one overlayfs and make it the root (/dev comes
 * along, already mounted); with sm_root=9p:TAG, the 9P share TAG alone.
 * Returns 1 when it did, 0 when there is no image
 * (the initramfs stays the root), or a negative errno after saying why on
 * the console. */
int sm_init_root_setup(void);

#endif
