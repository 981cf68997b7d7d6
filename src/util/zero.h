/* Whether a buffer holds only zero bytes: such runs are left as holes
 * where we write files (the ext4 image's data region), so that zeros cost
 * no disk on the host. */
#ifndef SM_UTIL_ZERO_H
#define SM_UTIL_ZERO_H

#include <stdbool.h>
#include <stddef.h>

bool sm_all_zero(const void *p, size_t len);

#endif
