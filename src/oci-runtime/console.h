/* --console-socket: the container's terminal is a pty of the host whose
 * master goes to the caller over that Unix socket (SCM_RIGHTS), as runc
 * sends it; the slave side is joined to the guest process's own pty. */
#ifndef SM_OCI_CONSOLE_H
#define SM_OCI_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

/* A pty with the master sent over the socket at path; the slave, raw (the
 * guest's pty does the line discipline), becomes the calling process's
 * controlling terminal (it must lead a session), so that a resize by the
 * caller reaches it as SIGWINCH. The slave fd, or a negative errno with a
 * sentence in err. */
int sm_oci_console_open(const char *socket_path, uint16_t rows, uint16_t cols, char *err,
                        size_t errlen);

/* The terminal's size now; 0 if it cannot be read. */
int sm_oci_console_size(int fd, uint16_t *rows, uint16_t *cols);

#endif
