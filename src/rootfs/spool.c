#include "rootfs/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

int sm_spool_open(sm_spool *s, const char *dir)
{
    s->len = 0;
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (s->fd >= 0)
        return 0;
    /* Some filesystems lack O_TMPFILE: unlink a named file at once. */
    char path[4096];
    snprintf(path, sizeof path, "%s/.sm-spool-XXXXXX", dir);
    s->fd = mkostemp(path, O_CLOEXEC);
    if (s->fd < 0)
        return sm_fail(errno, "cannot create a temporary file in '%s': %s", dir, strerror(errno));
    unlink(path);
    return 0;
}

void sm_spool_close(sm_spool *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

int sm_spool_pwrite(sm_spool *s, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(s->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;   /* 0 bytes: no errno to tell */
            return sm_fail(e, "cannot write the temporary file in '%s': %s", s->dir,
                           strerror(e));
        }
        p += n, len -= (size_t)n, off += (uint64_t)n;
    }
    return 0;
}

int sm_spool_pread(const sm_spool *s, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(s->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sm_fail(errno, "cannot read the temporary file in '%s': %s", s->dir,
                           strerror(errno));
        if (n == 0) { /* a sparse tail the layer never wrote */
            memset(p, 0, len);
            return 0;
        }
        p += n, len -= (size_t)n, off += (uint64_t)n;
    }
    return 0;
}

uint64_t sm_spool_data_from(const sm_spool *s, uint64_t off)
{
    off_t at = lseek(s->fd, (off_t)off, SEEK_DATA);
    if (at >= 0)
        return (uint64_t)at;
    return errno == ENXIO ? UINT64_MAX : off;
}

#define BATCH (1u << 20)        /* bytes gathered before one write */
#define RESERVE (8ull << 20)    /* spool room taken at once */

int sm_spool_writer_init(sm_spool_writer *w, sm_spool *s)
{
    memset(w, 0, sizeof *w);
    w->spool = s;
    if (!(w->buf = malloc(BATCH)))
        return sm_fail(ENOMEM, "out of memory for the temporary file's buffer");
    return 0;
}

static int flush(sm_spool_writer *w)
{
    int err = w->used ? sm_spool_pwrite(w->spool, w->buf, w->used, w->buf_at) : 0;
    w->used = 0;
    return err;
}

int sm_spool_writer_finish(sm_spool_writer *w)
{
    int err = w->buf ? flush(w) : 0;
    free(w->buf);
    w->buf = NULL;
    return err;
}

uint64_t sm_spool_reserve(sm_spool_writer *w, uint64_t size)
{
    if (size > w->end - w->next) {
        /* The rest of the old room stays a hole: it costs no disk. */
        uint64_t room = size > RESERVE ? size : RESERVE;
        w->next = __atomic_fetch_add(&w->spool->len, room, __ATOMIC_RELAXED);
        w->end = w->next + room;
    }
    uint64_t off = w->next;
    w->next += size;
    return off;
}

int sm_spool_put(sm_spool_writer *w, const void *buf, size_t len, uint64_t off)
{
    if (w->used && off == w->buf_at + w->used && len <= BATCH - w->used) {
        memcpy(w->buf + w->used, buf, len);
        w->used += len;
        return 0;
    }
    int err = flush(w);
    if (err || len >= BATCH)
        return err ? err : sm_spool_pwrite(w->spool, buf, len, off);
    memcpy(w->buf, buf, len);
    w->buf_at = off;
    w->used = len;
    return 0;
}
