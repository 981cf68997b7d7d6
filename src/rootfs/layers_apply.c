#include "rootfs/layers_apply.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs/layer_apply.h"
#include "util/error.h"

#define MAX_THREADS 64

/* A layer's window in the image (data_region.h) is this many times its
 * compressed size, plus room for a thousand small files, which tar and
 * gzip pack tighter still (a block each here). The file blocks of bench/pull's layers
 * take 2.5 (Debian minbase), 3.3 and 3.8 (packages' files) and 6.3 (the
 * Linux sources) times their compressed size: nearly every layer keeps to
 * its window, and none waits for the layers below. A window left unused
 * costs no disk: its blocks are free, a hole in the file. */
#define WINDOW_RATIO 8
#define WINDOW_MIN (4ull << 20)

typedef struct pipeline {
    const sm_rootfs_layer *layers;
    size_t n;
    sm_data_region *data;
    size_t lane0;               /* the lane of layers[0]; the others follow */
    sm_layer_budget budget;
    sm_layer_entries *decoded;  /* per layer, valid once ready[i] */
    bool *ready;
    pthread_mutex_t lock;
    pthread_cond_t done;        /* a layer became ready */
    size_t next;                /* the next layer to decode; under lock */
    bool stop;                  /* the merge failed: decode no more */
} pipeline;

/* A layer whose bytes arrive as it is read: if the download started over,
 * what was read may not be what was stored, so it is read again from the
 * store once the download ends; and nothing read counts until the
 * download's digest is verified. */
static void decode_layer(pipeline *p, size_t i, sm_layer_entries *out)
{
    const sm_rootfs_layer *l = &p->layers[i];
    sm_data_writer w;
    int err = sm_data_writer_init(&w, p->data, p->lane0 + i);
    if (err) {
        /* Layers above may wait for this one: it must end all the same. */
        sm_data_writer_done(&w);
        memset(out, 0, sizeof *out);
        out->err = err;
        out->why = strdup(sm_error_text());
        return;
    }
    err = sm_layer_decode(l->path, l->feed, &w, &p->budget, out);
    if (err == -ESTALE && sm_file_feed_wait(l->feed) == 0) {
        sm_layer_entries_free(out);
        sm_data_writer_restart(&w);
        err = sm_layer_decode(l->path, NULL, &w, &p->budget, out);
    }
    sm_data_writer_done(&w);
    int status = l->feed && !err ? sm_file_feed_wait(l->feed) : 0;
    if (status) {
        out->err = sm_fail(-status, "its download failed");
        out->why = strdup(sm_error_text());
    }
}

static void *decoder(void *arg)
{
    pipeline *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop && p->next < p->n) {
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        sm_layer_entries e;
        sm_cores_take(&p->budget.cores);
        decode_layer(p, i, &e);
        sm_cores_release(&p->budget.cores);
        pthread_mutex_lock(&p->lock);
        p->decoded[i] = e;
        p->ready[i] = true;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int merge_all(pipeline *p, sm_tree *t)
{
    int err = 0;
    for (size_t i = 0; i < p->n && !err; i++) {
        pthread_mutex_lock(&p->lock);
        while (!p->ready[i])
            pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
        const sm_rootfs_layer *l = &p->layers[i];
        err = sm_layer_merge(t, &p->decoded[i], (unsigned)(i + 1));
        sm_layer_entries_free(&p->decoded[i]);
        if (err)
            sm_fail_context(err, "layer %zu of %zu (%s)", i + 1, p->n,
                            l->digest ? l->digest : l->path);
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_mutex_unlock(&p->lock);
    return err;
}

/* Threads decoding may keep busy: layers' decoders first, then gunzip
 * threads for the cores fewer layers than that leave spare. */
static size_t core_count(const sm_rootfs_options *opts)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = opts && opts->threads ? opts->threads : cores > 0 ? (size_t)cores : 1;
    return want < MAX_THREADS ? want : MAX_THREADS;
}

static int run(pipeline *p, sm_tree *t, const sm_rootfs_options *opts)
{
    pthread_t threads[MAX_THREADS];
    size_t started = 0, want = core_count(opts);
    p->budget.cores.total = (unsigned)want;
    want = want < p->n ? want : p->n;
    while (started < want && pthread_create(&threads[started], NULL, decoder, p) == 0)
        started++;
    if (!started)
        decoder(p); /* no thread to be had: decode every layer here first */
    int err = merge_all(p, t);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < p->n; i++)
        if (p->ready[i])
            sm_layer_entries_free(&p->decoded[i]);
    return err;
}

/* Windows add up to no more than the layers' files may (max_total):
 * layers past that spill at once. */
static uint64_t window_of(const sm_rootfs_layer *l, uint64_t *left)
{
    struct stat st;
    uint64_t size = l->size;
    if (!size && !l->feed && stat(l->path, &st) == 0)
        size = (uint64_t)st.st_size;
    if (*left < WINDOW_MIN)
        return 0;
    uint64_t w = size < (*left - WINDOW_MIN) / WINDOW_RATIO ? size * WINDOW_RATIO + WINDOW_MIN
                                                          : *left;
    *left -= w;
    return w;
}

static int add_lanes(pipeline *p)
{
    uint64_t left = p->budget.max_total, *windows = calloc(p->n + 1, sizeof *windows);
    if (!windows)
        return sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++)
        windows[i] = window_of(&p->layers[i], &left);
    int err = sm_data_region_add_lanes(p->data, windows, p->n, &p->lane0);
    free(windows);
    return err;
}

int sm_layers_apply(sm_tree *t, sm_data_region *data, const sm_rootfs_layer *layers, size_t n,
                    const sm_rootfs_options *opts)
{
    pipeline p = {
        .layers = layers, .n = n, .data = data,
        .budget = {
            .max_file = opts && opts->max_file_bytes ? opts->max_file_bytes
                                                     : SM_ROOTFS_MAX_FILE_DEFAULT,
            .max_total = opts && opts->max_image_bytes ? opts->max_image_bytes
                                                       : SM_ROOTFS_MAX_IMAGE_DEFAULT,
        },
        .decoded = calloc(n + 1, sizeof *p.decoded),
        .ready = calloc(n + 1, sizeof *p.ready),
    };
    int err = p.decoded && p.ready ? 0 : sm_fail(ENOMEM, "out of memory");
    if (!err)
        err = add_lanes(&p);
    if (!err && pthread_mutex_init(&p.lock, NULL) == 0) {
        if (pthread_cond_init(&p.done, NULL) == 0) {
            err = run(&p, t, opts);
            pthread_cond_destroy(&p.done);
        } else {
            err = sm_fail(ENOMEM, "cannot create a condition variable");
        }
        pthread_mutex_destroy(&p.lock);
    } else if (!err) {
        err = sm_fail(ENOMEM, "cannot create a lock");
    }
    free(p.decoded);
    free(p.ready);
    return err;
}
