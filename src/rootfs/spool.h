/* File contents met while applying layers, parked in one unlinked temporary
 * file until the image writer copies the survivors into the image. */
#ifndef SM_ROOTFS_SPOOL_H
#define SM_ROOTFS_SPOOL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sm_spool {
    int fd;
    uint64_t len;         /* reserved so far; grown atomically by writers */
    char dir[PATH_MAX];   /* where it is, for errors: a full disk there */
} sm_spool;

/* Creates the spool in `dir` (the image's directory: same disk, and never
 * /tmp, which is often a small tmpfs). */
int sm_spool_open(sm_spool *s, const char *dir);
void sm_spool_close(sm_spool *s);
int sm_spool_pwrite(sm_spool *s, const void *buf, size_t len, uint64_t off);
int sm_spool_pread(const sm_spool *s, void *buf, size_t len, uint64_t off);

/* The first offset from `off` on that may hold data (SEEK_DATA): what lies
 * before it is a hole, zeros to be skipped rather than read. UINT64_MAX
 * when only holes follow; `off` itself where the file system cannot tell. */
uint64_t sm_spool_data_from(const sm_spool *s, uint64_t off);

/* One thread's way into a shared spool: it reserves room for files a few
 * MiB at a time and gathers small files' bytes in memory, so that tens of
 * thousands of files cost a few hundred writes, not one each. */
typedef struct sm_spool_writer {
    sm_spool *spool;
    uint64_t next, end;   /* the reserved room not handed out yet */
    uint8_t *buf;         /* bytes waiting to go to buf_at */
    uint64_t buf_at;
    size_t used;
} sm_spool_writer;

int sm_spool_writer_init(sm_spool_writer *w, sm_spool *s);
/* Writes what waits, and frees the buffer; the writer can't be used after. */
int sm_spool_writer_finish(sm_spool_writer *w);
/* Where a file of `size` bytes goes. */
uint64_t sm_spool_reserve(sm_spool_writer *w, uint64_t size);
/* Bytes of a file, at `off` in the spool; they may wait in memory until
 * sm_spool_writer_finish. */
int sm_spool_put(sm_spool_writer *w, const void *buf, size_t len, uint64_t off);

#endif
