/* A connection to a guest vsock port, from the VM's runtime directory:
 * `<dir>/vsock.sock`, then "CONNECT port". */
#ifndef SM_LIB_VSOCK_DIAL_H
#define SM_LIB_VSOCK_DIAL_H

#include <stdint.h>

int sm_vsock_dial(const char *dir, uint32_t port, int *out);

#endif
