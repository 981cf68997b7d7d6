/* A libarchive reader of one layer's tar. gzip, what nearly every registry
 * serves, is inflated by gunzip.c and libarchive reads a plain tar; zstd,
 * xz and bzip2 go through libarchive's own filters. The compression is told
 * by the bytes, never by a media type (real tools label layers wrongly). */
#ifndef SM_ROOTFS_LAYER_ARCHIVE_H
#define SM_ROOTFS_LAYER_ARCHIVE_H

#include <archive.h>

#include "rootfs/gunzip.h"
#include "rootfs/cores.h"
#include "rootfs/gunzip_thread.h"
#include "rootfs/layer_input.h"

typedef struct sm_layer_archive {
    struct archive *ar;
    sm_layer_input in;
    sm_gunzip *gz;        /* NULL unless the layer is gzip */
    sm_cores *cores;      /* whether gz may have a thread; NULL: never */
    sm_gunzip_thread *gzt;  /* gz's thread, once a core was spare */
    int read_err;         /* the first error of a read, which libarchive may
                           * word over while it still tells the format */
} sm_layer_archive;

/* Opens the layer at `path`, or the download `feed` of it (may be NULL).
 * A gzip layer's gunzip moves to a thread of its own whenever one of
 * `cores` (may be NULL) is spare between two blocks. */
int sm_layer_archive_open(sm_layer_archive *la, const char *path, sm_file_feed *feed,
                          sm_cores *cores);
void sm_layer_archive_close(sm_layer_archive *la);

/* A libarchive failure as a sentence: "what: libarchive's words". */
int sm_layer_archive_fail(struct archive *ar, const char *what);

#endif
