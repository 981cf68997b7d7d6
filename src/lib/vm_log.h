/* The log of a detached VM's process: its stdout and stderr in the order
 * they came, as records of (stream byte, u32 little-endian length, bytes),
 * so `logs` can give each back to its own stream. Stream bytes 'o' and 'e'
 * (stdout, stderr) carry a u64 little-endian time (unix ns) before the
 * bytes, counted in the length; '1' and '2', from before, carry none. */
#ifndef SM_LIB_VM_LOG_H
#define SM_LIB_VM_LOG_H

#include <stddef.h>
#include <stdint.h>

#define SM_VM_LOG_NAME "process.log"

int sm_vm_log_append(int fd, int stream, const void *data, size_t len);

typedef struct sm_log_view {
    int follow;         /* keep going while the VM lives */
    int64_t tail;       /* only the last this many lines; negative: all */
    int64_t since_ns;   /* only records written at or after (unix ns); 0: all */
    int64_t until_ns;   /* only records written before (unix ns); 0: all */
    int timestamps;     /* each line starts with its RFC 3339 time */
} sm_log_view;

/* Copy the log, as v selects, to out_fd/err_fd; with follow, until the
 * VM's end (sm_vm_alive(dir)) or until_ns has passed. */
int sm_vm_log_copy(const char *dir, const sm_log_view *v, int out_fd, int err_fd);

#endif
