/* The initramfs a boot hands to the guest: the built-in one, followed by a
 * small archive carrying this boot's command. */
#ifndef SM_LIB_BOOT_PAYLOAD_H
#define SM_LIB_BOOT_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* base may be empty. *out is malloc'd. */
int sm_boot_payload_build(const uint8_t *base, size_t base_len, const char *const *argv,
                          uint8_t **out, size_t *out_len);

#endif
