/* gzip layers decoded with ISA-L's igzip, which inflates about twice as
 * fast as zlib on real layers (bench/inflate measures it). Decompressing
 * the gzip is most of the CPU a pull spends, so it is done here and not by
 * libarchive's zlib filter. */
#ifndef SM_ROOTFS_GUNZIP_H
#define SM_ROOTFS_GUNZIP_H

#include <stddef.h>
#include <sys/types.h>

/* Where compressed bytes come from: >0 bytes at *buf, 0 at the end,
 * -errno with the thread's error sentence set. */
typedef ssize_t (*sm_gunzip_source)(void *ctx, const void **buf);

typedef struct sm_gunzip sm_gunzip;

int sm_gunzip_open(sm_gunzip **out, sm_gunzip_source src, void *ctx);
void sm_gunzip_free(sm_gunzip *g);

/* The next decompressed bytes: >0 bytes at *buf (valid until the next
 * call), 0 at the end of the last member, -errno with a sentence for a
 * truncated or corrupt stream (CRC and length of each member checked).
 * Members follow each other as gzip(1) reads them; bytes after the last
 * that do not start another member are ignored, as libarchive does. */
ssize_t sm_gunzip_read(sm_gunzip *g, const void **buf);

/* The same into the caller's `out`: up to `len` bytes, fewer when the
 * source's block or a member ends. */
ssize_t sm_gunzip_read_into(sm_gunzip *g, void *out, size_t len);

#endif
