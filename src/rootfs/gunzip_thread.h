/* A layer's gunzip on a thread of its own, a few blocks ahead of the tar
 * reader: inflating and checking CRCs is more than half of what decoding
 * a gzip layer costs, tar parsing and writing files' data the rest, so
 * one big layer keeps two cores busy instead of one. Only worth it for a
 * spare core: with as many layers decoding as there are cores, another
 * thread would only take turns with them. */
#ifndef SM_ROOTFS_GUNZIP_THREAD_H
#define SM_ROOTFS_GUNZIP_THREAD_H

#include <stdbool.h>
#include <sys/types.h>

#include "rootfs/gunzip.h"

typedef struct sm_gunzip_thread sm_gunzip_thread;

/* Inflates `g` on a new thread from its next byte on; until
 * sm_gunzip_thread_stop only that thread touches `g` and its source. */
int sm_gunzip_thread_start(sm_gunzip_thread **out, sm_gunzip *g);

/* As sm_gunzip_read: a block valid until the next call, 0 at the end, or
 * -errno with the sentence the thread met (its source's, the gzip's). */
ssize_t sm_gunzip_thread_read(sm_gunzip_thread *t, const void **buf);

/* Stops the thread after the block it is on, joins it and frees what it
 * holds; `g` is the caller's again. A thread waiting for a download's
 * next bytes stops when they come or the download ends. */
void sm_gunzip_thread_stop(sm_gunzip_thread *t);

#endif
