/* A file that one thread writes from front to back while others read it as
 * it grows: how a layer being downloaded is decoded before its last byte
 * arrives. The writer says how far the file is written and, at the end,
 * whether its bytes were verified; a reader waits for bytes it has not got
 * yet. Nothing read before the end is trusted beyond what any reader of a
 * hostile file trusts: whoever builds on it must wait for sm_file_feed_end
 * with 0 before using the result. */
#ifndef SM_UTIL_FILE_FEED_H
#define SM_UTIL_FILE_FEED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct sm_file_feed {
    pthread_mutex_t lock;
    pthread_cond_t grew;
    int fd;               /* the writer's file, dup'ed; -1 until attached */
    uint64_t written;     /* bytes of it that may be read */
    unsigned generation;  /* bumped when the writer starts over */
    bool ended;
    int status;           /* once ended: 0 verified and stored, else -errno */
} sm_file_feed;

int sm_file_feed_init(sm_file_feed *f);
void sm_file_feed_destroy(sm_file_feed *f);

/* The writer's side. attach: `fd` is the file being written, open for
 * reading too (it is dup'ed, so readers keep it after the writer closes or
 * renames it); grow: `n` more bytes are written; restart: it starts again,
 * called before the file is truncated (a reader whose read overlaps either
 * gets -ESTALE, never the file cut short); end: no more bytes, and
 * `status` says whether they were whole and verified. */
int sm_file_feed_attach(sm_file_feed *f, int fd);
void sm_file_feed_grow(sm_file_feed *f, uint64_t n);
void sm_file_feed_restart(sm_file_feed *f);
void sm_file_feed_end(sm_file_feed *f, int status);

/* A reader's side: up to `len` bytes at `off`, waiting until some are
 * written. Returns the count, 0 at the end of a feed that ended well,
 * -ESTALE when the writer restarted since `generation` (read it with
 * sm_file_feed_generation before the first read), or the -errno it ended
 * with. A feed that ended well without ever being attached (its blob was
 * stored by someone else) returns -ENOENT: read the stored blob instead. */
ssize_t sm_file_feed_read(sm_file_feed *f, unsigned generation, void *buf, size_t len,
                          uint64_t off);
unsigned sm_file_feed_generation(sm_file_feed *f);

/* Waits for the end; returns its status. */
int sm_file_feed_wait(sm_file_feed *f);

#endif
