/* File contents, written once, where the image's extents will point: the
 * image file from SM_DATA_HEAD on is the data region, and the filesystem's
 * metadata is written after it once every layer is in (ext4_mkfs.c).
 *
 * Layers decode in parallel, yet the same layers must give the same bytes
 * however the threads ran. So each layer writes in a lane of its own: a
 * window laid out before any layer is decoded, sized from the layer's
 * compressed size, and, for files that do not fit there, a spill after
 * every window, placed once the layers below have finished (their spills
 * are then known). A guess too small costs waiting, not bytes; one too
 * big costs free blocks, which take no disk. */
#ifndef SM_ROOTFS_DATA_REGION_H
#define SM_ROOTFS_DATA_REGION_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Image bytes before the data region: the superblock and the group
 * descriptors, 255 blocks of them, enough for 2 TiB. */
#define SM_DATA_HEAD (1u << 20)

/* Files start on a block of their own: their data is their extents. */
#define SM_DATA_ALIGN 4096u

typedef struct sm_data_lane {
    uint64_t at, len;       /* its window, as offsets in the region */
    uint64_t spill_at;      /* where its spill starts, once it needs one */
    uint64_t spill_len;     /* how much of it it used: final once done */
    uint64_t high;          /* the end of what it reserved */
    bool done;
} sm_data_lane;

typedef struct sm_data_region {
    int fd;                 /* the image file being built */
    char name[PATH_MAX];    /* the image's final path, for errors */
    pthread_mutex_t lock;
    pthread_cond_t finished;    /* a lane is done */
    sm_data_lane *lanes;
    size_t n_lanes, cap_lanes;
    uint64_t windows;       /* where the spills start */
} sm_data_region;

/* `fd` is the image file, open for writing; `name` names it in errors. */
int sm_data_region_init(sm_data_region *r, int fd, const char *name);
void sm_data_region_free(sm_data_region *r);

/* Lanes for the next n layers, numbered from *first on in layer order,
 * windows[i] bytes of window for the i-th. Windows go smallest first, so
 * that the biggest, whose rest is the likeliest to stay unused, ends the
 * region where the image's end trims it off. Windows are given before
 * any lane spills (later lanes get none: they spill at once). */
int sm_data_region_add_lanes(sm_data_region *r, const uint64_t *windows, size_t n,
                             size_t *first);

/* Where `lane`'s spill starts: waits until every lane below it is done. */
uint64_t sm_data_region_spill(sm_data_region *r, size_t lane);

/* The lane wrote all it will: its spill used `spill_len` bytes and it
 * reserved up to `high`. Lanes above it may go on. */
void sm_data_region_lane_done(sm_data_region *r, size_t lane, uint64_t spill_len,
                              uint64_t high);

/* The end of everything reserved, every lane being done: the image's
 * metadata goes after SM_DATA_HEAD + this. */
uint64_t sm_data_region_end(sm_data_region *r);

int sm_data_region_pwrite(sm_data_region *r, const void *buf, size_t len, uint64_t off);

#endif
