/* The log of a detached VM's process: its stdout and stderr in the order
 * they came, as records of (stream byte '1' or '2', u32 little-endian
 * length, bytes), so `logs` can give each back to its own stream. */
#ifndef SM_LIB_VM_LOG_H
#define SM_LIB_VM_LOG_H

#include <stddef.h>

#define SM_VM_LOG_NAME "process.log"

int sm_vm_log_append(int fd, int stream, const void *data, size_t len);

/* Copy the log to out_fd/err_fd; with follow, keep going while the VM
 * lives (sm_vm_alive(dir)) and stop at its end. */
int sm_vm_log_copy(const char *dir, int follow, int out_fd, int err_fd);

#endif
