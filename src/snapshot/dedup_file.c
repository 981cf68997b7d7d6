/* One memory file against another: walk the ranges where both hold data
 * (holes are skipped with SEEK_DATA/SEEK_HOLE), skip pages the two already
 * share on disk (FIEMAP), compare the rest page by page and share each run
 * of identical pages with one FIDEDUPERANGE call. The kernel compares the
 * range again under its locks and shares it atomically, so the files never
 * read differently, whatever happens to this process. */
#include <errno.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot/dedup.h"
#include "util/error.h"

#define PAGE SM_DEDUP_PAGE
#define CHUNK (4u << 20)
#define CHUNK_PAGES (CHUNK / PAGE)
#define MAP_EXTENTS 128u

typedef struct pair {
    int src, dst;
    const char *dst_path;
    uint64_t size;
    sm_snap_dedup_stats *st;
    uint8_t *a, *b;                 /* CHUNK bytes of each file */
    uint64_t phys_a[CHUNK_PAGES];   /* disk address of each page; 0: unknown */
    uint64_t phys_b[CHUNK_PAGES];
    struct fiemap *map;             /* MAP_EXTENTS extents follow it */
} pair;

/* lseek for SEEK_DATA/SEEK_HOLE: 0 with *out, 1 when there is no more
 * data (ENXIO), or a negative errno. */
static int seek(pair *p, int fd, uint64_t pos, int whence, uint64_t *out)
{
    off_t r = lseek(fd, (off_t)pos, whence);
    if (r >= 0) {
        *out = (uint64_t)r;
        return 0;
    }
    if (errno == ENXIO)
        return 1;
    return sm_fail(errno, "dedup: cannot look for data in %s: %s", p->dst_path,
                   strerror(errno));
}

/* The next range at or after `pos` where both files hold data, widened to
 * whole pages. 0 found, 1 none, or a negative errno. */
static int next_common(pair *p, uint64_t pos, uint64_t *start, uint64_t *end)
{
    uint64_t x = 0, y = 0;
    for (;;) {
        int rc = seek(p, p->src, pos, SEEK_DATA, &x);
        if (rc == 0)
            rc = seek(p, p->dst, pos, SEEK_DATA, &y);
        if (rc)
            return rc;
        if (x == y)
            break;
        pos = x > y ? x : y;   /* strictly grows, so this ends */
    }
    int rc = seek(p, p->src, x, SEEK_HOLE, end);
    if (rc == 0)
        rc = seek(p, p->dst, x, SEEK_HOLE, &y);
    if (rc)
        return rc < 0 ? rc : 1;
    if (y < *end)
        *end = y;
    *start = x / PAGE * PAGE;
    *end = (*end + PAGE - 1) / PAGE * PAGE;
    if (*end > p->size)
        *end = p->size;
    return *start < *end ? 0 : 1;
}

/* Fills phys[] with the disk address of every page of [off, off+len) that
 * one plain extent maps; 0 where none does. A filesystem without FIEMAP
 * leaves it all 0: everything is then compared. */
static int map_pages(pair *p, int fd, uint64_t off, uint64_t len, uint64_t *phys)
{
    const uint32_t odd = FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC |
        FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_NOT_ALIGNED |
        FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_UNWRITTEN;
    memset(phys, 0, len / PAGE * sizeof *phys);
    for (uint64_t pos = off; pos < off + len;) {
        memset(p->map, 0, sizeof *p->map);
        p->map->fm_start = pos;
        p->map->fm_length = off + len - pos;
        p->map->fm_extent_count = MAP_EXTENTS;
        if (ioctl(fd, FS_IOC_FIEMAP, p->map) < 0)
            return errno == EOPNOTSUPP || errno == ENOTTY ? 0
                : sm_fail(errno, "dedup: cannot map %s: %s", p->dst_path, strerror(errno));
        const struct fiemap_extent *e = p->map->fm_extents;
        uint32_t n = p->map->fm_mapped_extents;
        for (uint32_t i = 0; i < n; i++) {
            if (e[i].fe_flags & odd)
                continue;
            uint64_t from = e[i].fe_logical > off ? e[i].fe_logical : off;
            from = (from + PAGE - 1) / PAGE * PAGE;
            for (uint64_t q = from; q + PAGE <= e[i].fe_logical + e[i].fe_length &&
                 q < off + len; q += PAGE)
                phys[(q - off) / PAGE] = e[i].fe_physical + (q - e[i].fe_logical);
        }
        if (n == 0 || (e[n - 1].fe_flags & FIEMAP_EXTENT_LAST) ||
            e[n - 1].fe_logical + e[n - 1].fe_length <= pos)
            break;
        pos = e[n - 1].fe_logical + e[n - 1].fe_length;
    }
    return 0;
}

static int pread_all(pair *p, int fd, uint8_t *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return sm_fail(n < 0 ? errno : EIO, "dedup: cannot read %s: %s", p->dst_path,
                           n < 0 ? strerror(errno) : "it is shorter than it was");
        buf += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* runs' emit: share [off, off+len) of dst with the same range of src. */
static int share(uint64_t off, uint64_t len, void *ctx)
{
    pair *p = ctx;
    while (len > 0) {
        int32_t status = 0;
        uint64_t done = 0;
        int rc = sm_dedup_call(p->src, p->dst, off,
                               len < SM_DEDUP_MAX_CALL ? len : SM_DEDUP_MAX_CALL, &status, &done);
        int e = rc < 0 ? -rc : status < 0 ? -status : 0;
        if (e == EINTR)
            continue;
        if (e == EOPNOTSUPP || e == ENOTTY || e == EXDEV)
            return -EOPNOTSUPP;
        if (e)
            return sm_fail(e, "dedup: cannot share pages of %s: %s", p->dst_path,
                           strerror(e));
        if (status == FILE_DEDUPE_RANGE_DIFFERS || done == 0)
            return 0;   /* changed since it was compared: leave it as it is */
        p->st->bytes_shared += done;
        off += done;
        len -= done < len ? done : len;
    }
    return 0;
}

static int is_zero(const uint8_t *p)
{
    return p[0] == 0 && memcmp(p, p + 1, PAGE - 1) == 0;
}

/* One chunk of a common data range: pages already on the same blocks end
 * a run unread; the others are compared. A page of zeros in either file is
 * no data (the writer leaves those holes; the filesystem may report
 * preallocated blocks as data) and is neither counted nor shared. */
static int do_chunk(pair *p, sm_dedup_runs *runs, uint64_t off, uint64_t len)
{
    int rc = map_pages(p, p->src, off, len, p->phys_a);
    if (rc == 0)
        rc = map_pages(p, p->dst, off, len, p->phys_b);
    if (rc < 0)
        return rc;
    size_t pages = len / PAGE, same = 0;
    for (size_t i = 0; i < pages; i++)
        same += p->phys_a[i] && p->phys_a[i] == p->phys_b[i];
    p->st->bytes_compared += same * PAGE;
    if (same == pages)
        return sm_dedup_runs_flush(runs);
    rc = pread_all(p, p->src, p->a, len, off);
    if (rc == 0)
        rc = pread_all(p, p->dst, p->b, len, off);
    for (size_t i = 0; rc == 0 && i < pages; i++) {
        const uint8_t *a = p->a + i * PAGE, *b = p->b + i * PAGE;
        int identical = 0;
        if (!(p->phys_a[i] && p->phys_a[i] == p->phys_b[i]) && !is_zero(a) && !is_zero(b)) {
            p->st->bytes_compared += PAGE;
            identical = memcmp(a, b, PAGE) == 0;
        }
        rc = sm_dedup_runs_page(runs, off + i * PAGE, identical);
    }
    return rc;
}

static int walk(pair *p)
{
    sm_dedup_runs runs = {.max_run = SM_DEDUP_MAX_CALL, .emit = share, .ctx = p};
    uint64_t pos = 0, start = 0, end = 0;
    int rc = 0;
    while (pos < p->size && (rc = next_common(p, pos, &start, &end)) == 0) {
        for (uint64_t off = start; rc == 0 && off < end; off += CHUNK)
            rc = do_chunk(p, &runs, off, end - off < CHUNK ? end - off : CHUNK);
        if (rc < 0)
            return rc;
        rc = sm_dedup_runs_flush(&runs);   /* a hole follows: the run ends */
        if (rc < 0)
            return rc;
        pos = end;
    }
    return rc < 0 ? rc : sm_dedup_runs_flush(&runs);
}

int sm_dedup_file(int src_fd, int dst_fd, const char *dst_path, sm_snap_dedup_stats *st)
{
    struct stat sa, sb;
    if (fstat(src_fd, &sa) < 0 || fstat(dst_fd, &sb) < 0)
        return sm_fail(errno, "dedup: cannot stat %s: %s", dst_path, strerror(errno));
    if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
        return 0;
    pair *p = calloc(1, sizeof *p);
    if (p) {
        p->a = malloc(CHUNK);
        p->b = malloc(CHUNK);
        p->map = malloc(sizeof *p->map + MAP_EXTENTS * sizeof(struct fiemap_extent));
    }
    int rc;
    if (!p || !p->a || !p->b || !p->map) {
        rc = sm_fail(ENOMEM, "dedup: out of memory");
    } else {
        p->src = src_fd;
        p->dst = dst_fd;
        p->dst_path = dst_path;
        p->st = st;
        p->size = (uint64_t)(sa.st_size < sb.st_size ? sa.st_size : sb.st_size) / PAGE * PAGE;
        rc = walk(p);
    }
    if (p) {
        free(p->a);
        free(p->b);
        free(p->map);
    }
    free(p);
    return rc;
}
