/* One layer's way into the data region (data_region.h): it places the
 * layer's files one after the other in its lane, each on a block of its
 * own, and gathers small files' bytes in memory, so that tens of
 * thousands of files cost a few hundred writes, not one each. */
#ifndef SM_ROOTFS_DATA_WRITER_H
#define SM_ROOTFS_DATA_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rootfs/data_region.h"

typedef struct sm_data_writer {
    sm_data_region *region;
    size_t lane;
    uint64_t next, end;     /* the room left in the window */
    uint64_t spill_at;      /* UINT64_MAX until a file outgrows the window */
    uint64_t spill_next;    /* the room left in the spill: all after it */
    uint64_t high;          /* the end of what was reserved */
    uint8_t *buf;           /* bytes waiting to go to buf_at */
    uint64_t buf_at;
    size_t used;
} sm_data_writer;

int sm_data_writer_init(sm_data_writer *w, sm_data_region *r, size_t lane);
/* Where a file of `size` bytes goes (an offset in the region). May wait
 * for the layers below when the layer outgrows its window. */
uint64_t sm_data_reserve(sm_data_writer *w, uint64_t size);
/* Bytes of a file at `off`; they may wait in memory until the next
 * sm_data_writer_flush. */
int sm_data_put(sm_data_writer *w, const void *buf, size_t len, uint64_t off);
int sm_data_writer_flush(sm_data_writer *w);
/* The layer is read again from its start (its download started over):
 * what waits is dropped and its files go where they went the first time. */
void sm_data_writer_restart(sm_data_writer *w);
/* The layer is over, read whole or not; what was not flushed is dropped.
 * The writer can't be used after. */
void sm_data_writer_done(sm_data_writer *w);

#endif
