#include "rootfs/data_region.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/file.h"

int sm_data_region_init(sm_data_region *r, int fd, const char *name)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    snprintf(r->name, sizeof r->name, "%s", name);
    if (pthread_mutex_init(&r->lock, NULL) != 0)
        return sm_fail(ENOMEM, "cannot create a lock");
    if (pthread_cond_init(&r->finished, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        return sm_fail(ENOMEM, "cannot create a condition variable");
    }
    return 0;
}

void sm_data_region_free(sm_data_region *r)
{
    pthread_cond_destroy(&r->finished);
    pthread_mutex_destroy(&r->lock);
    free(r->lanes);
    r->lanes = NULL;
    r->n_lanes = r->cap_lanes = 0;
}

static uint64_t align_up(uint64_t n)
{
    return (n + SM_DATA_ALIGN - 1) & ~(uint64_t)(SM_DATA_ALIGN - 1);
}

typedef struct by_size {
    uint64_t len;
    size_t lane;
} by_size;

static int smaller(const void *a, const void *b)
{
    const by_size *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->lane < y->lane ? -1 : x->lane > y->lane;
}

static int grow(sm_data_region *r, size_t n)
{
    size_t cap = r->cap_lanes;
    while (cap < r->n_lanes + n)
        cap = cap ? 2 * cap : 16;
    if (cap == r->cap_lanes)
        return 0;
    sm_data_lane *v = realloc(r->lanes, cap * sizeof *v);
    if (!v)
        return sm_fail(ENOMEM, "out of memory");
    r->lanes = v, r->cap_lanes = cap;
    return 0;
}

int sm_data_region_add_lanes(sm_data_region *r, const uint64_t *windows, size_t n,
                             size_t *first)
{
    by_size *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return sm_fail(ENOMEM, "out of memory");
    pthread_mutex_lock(&r->lock);
    int err = grow(r, n);
    /* A spill already placed was placed after the windows there were. */
    bool spilled = false;
    for (size_t i = 0; i < r->n_lanes; i++)
        spilled = spilled || r->lanes[i].spill_at != UINT64_MAX;
    for (size_t i = 0; !err && i < n; i++)
        order[i] = (by_size){spilled ? 0 : align_up(windows[i]), r->n_lanes + i};
    qsort(order, err ? 0 : n, sizeof *order, smaller);
    for (size_t i = 0; !err && i < n; i++) {
        r->lanes[order[i].lane] = (sm_data_lane){.at = r->windows, .len = order[i].len,
                                                 .spill_at = UINT64_MAX};
        r->windows += order[i].len;
    }
    if (!err) {
        *first = r->n_lanes;
        r->n_lanes += n;
    }
    pthread_mutex_unlock(&r->lock);
    free(order);
    return err;
}

uint64_t sm_data_region_spill(sm_data_region *r, size_t lane)
{
    pthread_mutex_lock(&r->lock);
    for (;;) {
        bool below_done = true;
        for (size_t i = 0; i < lane; i++)
            below_done = below_done && r->lanes[i].done;
        if (below_done)
            break;
        pthread_cond_wait(&r->finished, &r->lock);
    }
    uint64_t at = r->windows;
    for (size_t i = 0; i < lane; i++)
        at += r->lanes[i].spill_len;
    r->lanes[lane].spill_at = at;
    pthread_mutex_unlock(&r->lock);
    return at;
}

void sm_data_region_lane_done(sm_data_region *r, size_t lane, uint64_t spill_len, uint64_t high)
{
    pthread_mutex_lock(&r->lock);
    r->lanes[lane].spill_len = align_up(spill_len);
    r->lanes[lane].high = high;
    r->lanes[lane].done = true;
    pthread_cond_broadcast(&r->finished);
    pthread_mutex_unlock(&r->lock);
}

uint64_t sm_data_region_end(sm_data_region *r)
{
    uint64_t end = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_lanes; i++)
        end = r->lanes[i].high > end ? r->lanes[i].high : end;
    pthread_mutex_unlock(&r->lock);
    return align_up(end);
}

int sm_data_region_pwrite(sm_data_region *r, const void *buf, size_t len, uint64_t off)
{
    int err = sm_pwrite_all(r->fd, buf, len, SM_DATA_HEAD + off);
    return err ? sm_fail(-err, "cannot write '%s': %s", r->name, strerror(-err)) : 0;
}
