/* The sparse ext4 file that holds a VM root's writable layer. */
#ifndef SM_LIB_UPPER_DISK_H
#define SM_LIB_UPPER_DISK_H

/* Size of a new upper disk; sparse, so it costs only what is written. */
#define SM_UPPER_DISK_BYTES (8ull << 30)

/* Use `path` if it holds ext4, else create and format it (mke2fs). A file
 * that exists and is something else is refused, never overwritten. */
int sm_upper_disk_ensure(const char *path);

#endif
