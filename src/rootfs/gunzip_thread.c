#include "rootfs/gunzip_thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/error.h"

/* Blocks of decompressed bytes between the two threads: one the reader
 * holds, one being filled, the rest to absorb uneven pace (a big file's
 * data streams through the reader faster than a directory of small ones). */
#define SLOTS 4
#define BLOCK (1u << 20)

struct sm_gunzip_thread {
    sm_gunzip *g;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t filled;      /* a block is ready, or the stream ended */
    pthread_cond_t room;        /* a slot is free, or the reader stopped */
    uint8_t *buf;               /* SLOTS blocks */
    size_t len[SLOTS];
    unsigned head, count;       /* the oldest full slot; how many are full */
    bool held;                  /* the reader has slot `head` */
    bool done;                  /* the thread read its last block: */
    ssize_t result;             /* 0 at the end, else -errno */
    char why[1024];             /* and its sentence */
    bool stop;                  /* the reader wants no more */
};

/* A whole block, unless the stream ends or fails first: fewer, larger
 * hand-overs than one per source block. */
static ssize_t fill(sm_gunzip *g, uint8_t *out, size_t *len)
{
    *len = 0;
    while (*len < BLOCK) {
        ssize_t n = sm_gunzip_read_into(g, out + *len, BLOCK - *len);
        if (n <= 0)
            return n;
        *len += (size_t)n;
    }
    return 1;
}

static void *inflater(void *arg)
{
    sm_gunzip_thread *t = arg;
    pthread_mutex_lock(&t->lock);
    while (!t->done) {
        while (t->count == SLOTS && !t->stop)
            pthread_cond_wait(&t->room, &t->lock);
        if (t->stop)
            break;
        unsigned slot = (t->head + t->count) % SLOTS;
        pthread_mutex_unlock(&t->lock);
        size_t len;
        ssize_t r = fill(t->g, t->buf + (size_t)slot * BLOCK, &len);
        pthread_mutex_lock(&t->lock);
        /* Bytes before an error go first, as they would read in line. */
        if (len) {
            t->len[slot] = len;
            t->count++;
        }
        if (r <= 0) {
            t->done = true;
            t->result = r;
            if (r < 0)
                snprintf(t->why, sizeof t->why, "%s", sm_error_text());
        }
        pthread_cond_signal(&t->filled);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

static void destroy(sm_gunzip_thread *t)
{
    pthread_cond_destroy(&t->room);
    pthread_cond_destroy(&t->filled);
    pthread_mutex_destroy(&t->lock);
    free(t->buf);
    free(t);
}

int sm_gunzip_thread_start(sm_gunzip_thread **out, sm_gunzip *g)
{
    sm_gunzip_thread *t = calloc(1, sizeof *t);
    if (!t)
        return sm_fail(ENOMEM, "out of memory for a gzip thread");
    t->g = g;
    if (!(t->buf = malloc((size_t)SLOTS * BLOCK))) {
        free(t);
        return sm_fail(ENOMEM, "out of memory for a gzip thread");
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->filled, NULL);
    pthread_cond_init(&t->room, NULL);
    int e = pthread_create(&t->thread, NULL, inflater, t);
    if (e) {
        destroy(t);
        return sm_fail(e, "cannot start a gzip thread");
    }
    *out = t;
    return 0;
}

ssize_t sm_gunzip_thread_read(sm_gunzip_thread *t, const void **buf)
{
    pthread_mutex_lock(&t->lock);
    if (t->held) { /* libarchive is done with the block it had last */
        t->held = false;
        t->head = (t->head + 1) % SLOTS;
        t->count--;
        pthread_cond_signal(&t->room);
    }
    while (!t->count && !t->done)
        pthread_cond_wait(&t->filled, &t->lock);
    ssize_t n = t->result;
    if (t->count) {
        t->held = true;
        *buf = t->buf + (size_t)t->head * BLOCK;
        n = (ssize_t)t->len[t->head];
    } else if (n < 0) {
        sm_fail((int)n, "%s", t->why);
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

void sm_gunzip_thread_stop(sm_gunzip_thread *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->room);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    destroy(t);
}
