/* The raw bytes of one layer blob: a stored file, or a download still under
 * way (util/file_feed.h), read in large blocks. */
#ifndef SM_ROOTFS_LAYER_INPUT_H
#define SM_ROOTFS_LAYER_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/file_feed.h"

typedef struct sm_layer_input {
    const char *path;       /* the blob once stored */
    sm_file_feed *feed;     /* NULL: read `path` */
    unsigned generation;    /* of the feed when reading began */
    int fd;                 /* of `path`, when read from there */
    uint64_t off;           /* of the next block */
    uint8_t *buf;
    size_t len, pos;        /* bytes in buf; of them, handed out */
} sm_layer_input;

int sm_layer_input_open(sm_layer_input *in, const char *path, sm_file_feed *feed);
void sm_layer_input_close(sm_layer_input *in);

/* The next bytes: >0 at *buf (valid until the next call), 0 at the end,
 * -errno with a sentence; -ESTALE when the download restarted. */
ssize_t sm_layer_input_read(sm_layer_input *in, const void **buf);

/* The first `want` bytes or all there are, without consuming them. */
ssize_t sm_layer_input_peek(sm_layer_input *in, size_t want, const uint8_t **buf);

#endif
