/* Which pages of a restored guest changed since its restore. Its RAM is a
 * MAP_PRIVATE mapping of the snapshot's memory: a page the guest (or a
 * device) wrote became an anonymous copy, one it only read is still the
 * file's. /proc/self/pagemap tells them apart, which catches the VMM's own
 * writes into guest RAM as well as the guest's (KVM's dirty log sees only
 * the latter). */
#include "snapshot/mem_changes.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

#define PAGE 4096u
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_FILE (1ull << 61)
#define BATCH 4096u

typedef struct run_list {
    sm_snap_run *v;
    size_t n, cap;
} run_list;

static int add_page(run_list *l, uint64_t off)
{
    if (l->n && l->v[l->n - 1].off + l->v[l->n - 1].len == off) {
        l->v[l->n - 1].len += PAGE;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        sm_snap_run *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return sm_fail(ENOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (sm_snap_run){off, PAGE};
    return 0;
}

static bool changed(uint64_t e)
{
    return (e & PM_SWAPPED) || ((e & PM_PRESENT) && !(e & PM_FILE));
}

static int scan(int fd, const uint8_t *base, uint64_t len, run_list *l)
{
    uint64_t e[BATCH];
    for (uint64_t page = 0; page < len / PAGE; page += BATCH) {
        uint64_t want = len / PAGE - page < BATCH ? len / PAGE - page : BATCH;
        off_t at = (off_t)(((uintptr_t)base / PAGE + page) * sizeof(uint64_t));
        ssize_t got = pread(fd, e, want * sizeof e[0], at);
        if (got != (ssize_t)(want * sizeof e[0]))
            return sm_fail(got < 0 ? errno : EIO, "cannot read /proc/self/pagemap: %s",
                           got < 0 ? strerror(errno) : "short read");
        for (uint64_t i = 0; i < want; i++)
            if (changed(e[i]) && add_page(l, (page + i) * PAGE) < 0)
                return -ENOMEM;
    }
    return 0;
}

int sm_mem_changed_runs(const void *base, uint64_t len, sm_snap_run **runs, size_t *n)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "cannot open /proc/self/pagemap: %s", strerror(errno));
    run_list l = {0};
    int err = scan(fd, base, len, &l);
    close(fd);
    if (err) {
        free(l.v);
        return err;
    }
    *runs = l.v;
    *n = l.n;
    return 0;
}
