#include "memory/guest_mem.h"

#include <string.h>
#include <sys/mman.h>

#include "util/error.h"

static void add_region(sm_gmem *m, uint64_t gpa, uint64_t size, uint64_t offset)
{
    m->regions[m->nregions++] = (sm_gmem_region){
        .gpa = gpa, .size = size, .host = m->base + offset};
}

int sm_gmem_init(sm_gmem *m, uint64_t bytes)
{
    memset(m, 0, sizeof *m);
    if (bytes == 0 || bytes % 4096)
        return sm_fail(EINVAL, "guest memory size %llu is not a whole number of pages",
                       (unsigned long long)bytes);
    /* MAP_NORESERVE: untouched guest pages cost nothing, as on real hosts. */
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return sm_fail(errno, "cannot reserve %llu MiB of guest memory: %s",
                       (unsigned long long)(bytes >> 20), strerror(errno));
    /* Transparent huge pages cut EPT/TLB misses for larger guests. */
    madvise(p, bytes, MADV_HUGEPAGE);
    m->base = p;
    m->mapped = bytes;
    uint64_t low = bytes < SM_GMEM_HOLE_START ? bytes : SM_GMEM_HOLE_START;
    add_region(m, 0, low, 0);
    if (bytes > low)
        add_region(m, SM_GMEM_HOLE_END, bytes - low, low);
    return 0;
}

int sm_gmem_map_run(sm_gmem *m, int fd, uint64_t off, uint64_t len)
{
    if (off % 4096 || len % 4096 || off > m->mapped || len > m->mapped - off)
        return sm_fail(EINVAL, "snapshot memory run %#llx+%#llx lies outside guest RAM",
                       (unsigned long long)off, (unsigned long long)len);
    if (len == 0)
        return 0;
    void *p = mmap(m->base + off, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)off);
    if (p == MAP_FAILED)
        return sm_fail(errno, "cannot map the snapshot's memory: %s", strerror(errno));
    return 0;
}

int sm_gmem_map_file(sm_gmem *m, int fd)
{
    return sm_gmem_map_run(m, fd, 0, m->mapped);
}

void sm_gmem_free(sm_gmem *m)
{
    if (m->base)
        munmap(m->base, m->mapped);
    memset(m, 0, sizeof *m);
}

void *sm_gmem_ptr(const sm_gmem *m, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < m->nregions; i++) {
        const sm_gmem_region *r = &m->regions[i];
        if (gpa < r->gpa)
            continue;
        uint64_t off = gpa - r->gpa;
        /* Written so that no sum can wrap around. */
        if (off >= r->size || len > r->size - off)
            continue;
        return r->host + off;
    }
    return NULL;
}

bool sm_gmem_write(const sm_gmem *m, uint64_t gpa, const void *src, uint64_t len)
{
    void *dst = sm_gmem_ptr(m, gpa, len);
    if (!dst)
        return false;
    memcpy(dst, src, len);
    return true;
}

bool sm_gmem_read(const sm_gmem *m, uint64_t gpa, void *dst, uint64_t len)
{
    const void *src = sm_gmem_ptr(m, gpa, len);
    if (!src)
        return false;
    memcpy(dst, src, len);
    return true;
}

uint64_t sm_gmem_low_end(const sm_gmem *m)
{
    return m->nregions ? m->regions[0].size : 0;
}
