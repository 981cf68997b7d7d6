/* The cores one image's layers may keep busy while they decode, and how
 * many threads keep one busy now: each layer's decoder, and the gunzip
 * threads (gunzip_thread.h) started only while a core is spare. */
#ifndef SM_ROOTFS_CORES_H
#define SM_ROOTFS_CORES_H

#include <stdbool.h>

typedef struct sm_cores {
    unsigned total;
    unsigned busy;      /* atomic */
} sm_cores;

/* A decoder, which runs whether or not a core is spare, takes one; a
 * gunzip thread claims one only if it is spare (true: it is the caller's
 * until released). */
void sm_cores_take(sm_cores *c);
bool sm_cores_claim(sm_cores *c);
void sm_cores_release(sm_cores *c);

#endif
