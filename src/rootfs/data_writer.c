#include "rootfs/data_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define BATCH (1u << 20)        /* bytes gathered before one write */

int sm_data_writer_init(sm_data_writer *w, sm_data_region *r, size_t lane)
{
    memset(w, 0, sizeof *w);
    w->region = r;
    w->lane = lane;
    sm_data_writer_restart(w);
    if (!(w->buf = malloc(BATCH)))
        return sm_fail(ENOMEM, "out of memory for the image's write buffer");
    return 0;
}

void sm_data_writer_restart(sm_data_writer *w)
{
    pthread_mutex_lock(&w->region->lock);
    const sm_data_lane *l = &w->region->lanes[w->lane];
    w->next = l->at;
    w->end = l->at + l->len;
    pthread_mutex_unlock(&w->region->lock);
    w->spill_at = w->spill_next = UINT64_MAX;
    w->high = 0;
    w->used = 0;
}

/* A file goes in the window while it fits there, else in the spill: the
 * same files land in the same places whatever the other layers did. */
uint64_t sm_data_reserve(sm_data_writer *w, uint64_t size)
{
    uint64_t room = (size + SM_DATA_ALIGN - 1) & ~(uint64_t)(SM_DATA_ALIGN - 1);
    uint64_t *cursor = &w->next;
    if (room > w->end - w->next) {
        if (w->spill_at == UINT64_MAX)
            w->spill_at = w->spill_next = sm_data_region_spill(w->region, w->lane);
        cursor = &w->spill_next;
    }
    uint64_t off = *cursor;
    *cursor += room;
    if (*cursor > w->high)
        w->high = *cursor;
    return off;
}

int sm_data_writer_flush(sm_data_writer *w)
{
    int err = w->used ? sm_data_region_pwrite(w->region, w->buf, w->used, w->buf_at) : 0;
    w->used = 0;
    return err;
}

/* Files follow each other a block apart: the few zeros between a file's
 * end and the next file are written along (they are its last block's
 * tail), longer runs of zeros left out stay holes. */
int sm_data_put(sm_data_writer *w, const void *buf, size_t len, uint64_t off)
{
    uint64_t end = w->buf_at + w->used;
    if (w->used && off >= end && off - end < SM_DATA_ALIGN && off + len - w->buf_at <= BATCH) {
        memset(w->buf + w->used, 0, off - end);
        memcpy(w->buf + (off - w->buf_at), buf, len);
        w->used = (size_t)(off + len - w->buf_at);
        return 0;
    }
    int err = sm_data_writer_flush(w);
    if (err || len >= BATCH)
        return err ? err : sm_data_region_pwrite(w->region, buf, len, off);
    memcpy(w->buf, buf, len);
    w->buf_at = off;
    w->used = len;
    return 0;
}

void sm_data_writer_done(sm_data_writer *w)
{
    uint64_t spill = w->spill_at == UINT64_MAX ? 0 : w->spill_next - w->spill_at;
    sm_data_region_lane_done(w->region, w->lane, spill, w->high);
    free(w->buf);
    w->buf = NULL;
    w->used = 0;
}
