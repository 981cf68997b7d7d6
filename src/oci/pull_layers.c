#include "oci/pull_layers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/error.h"

typedef struct queue {
    sm_registry *reg;
    const sm_store *store;
    const char *name;
    const sm_manifest *m;
    sm_file_feed *const *feeds;   /* per layer of m, or NULL */
    const sm_descriptor **jobs;   /* distinct layers missing from the store */
    size_t count;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    size_t next;                  /* guarded by lock, like what follows */
    int running;
    int err;
    char message[1024];
    atomic_int cancel;
    _Atomic uint64_t bytes_done;
    atomic_uint layers_done;
} queue;

static void record_failure(queue *q, int err)
{
    pthread_mutex_lock(&q->lock);
    if (!q->err) {
        q->err = err;
        snprintf(q->message, sizeof q->message, "%s", sm_error_text());
    }
    pthread_mutex_unlock(&q->lock);
    atomic_store(&q->cancel, 1);
}

static const sm_descriptor *take(queue *q)
{
    pthread_mutex_lock(&q->lock);
    const sm_descriptor *d = q->next < q->count && !q->err ? q->jobs[q->next++] : NULL;
    pthread_mutex_unlock(&q->lock);
    return d;
}

static sm_file_feed *feed_of(const queue *q, const sm_descriptor *d)
{
    return q->feeds ? q->feeds[d - q->m->items] : NULL;
}

static void end_feed(const queue *q, const sm_descriptor *d, int status)
{
    sm_file_feed *f = feed_of(q, d);
    if (f)
        sm_file_feed_end(f, status);
}

static void *worker(void *arg)
{
    queue *q = arg;
    sm_http h;
    int err = sm_http_init(&h);
    if (err)
        record_failure(q, err);
    for (const sm_descriptor *d; !err && (d = take(q)); ) {
        char what[SM_REF_STR_MAX + 100];
        snprintf(what, sizeof what, "layer %s of %s", d->digest, q->name);
        err = sm_registry_get_blob(q->reg, &h, q->store, d, what, &q->bytes_done, &q->cancel,
                                   feed_of(q, d));
        end_feed(q, d, err);
        if (err)
            record_failure(q, err);
        else
            atomic_fetch_add(&q->layers_done, 1);
    }
    sm_http_free(&h);
    pthread_mutex_lock(&q->lock);
    q->running--;
    pthread_cond_signal(&q->changed);
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static void report(queue *q, const sm_manifest *m, uint64_t total, int finished,
                   void (*progress)(const sm_oci_pull_progress *, void *), void *ctx)
{
    if (!progress)
        return;
    sm_oci_pull_progress p = {
        .name = q->name, .layers = (uint32_t)m->count,
        .layers_done = (uint32_t)(m->count - q->count + atomic_load(&q->layers_done)),
        .bytes = total, .bytes_done = atomic_load(&q->bytes_done), .finished = finished,
    };
    progress(&p, ctx);
}

/* Report a few times a second until every worker has stopped. */
static void wait_workers(queue *q, const sm_manifest *m, uint64_t total,
                         void (*progress)(const sm_oci_pull_progress *, void *), void *ctx)
{
    pthread_mutex_lock(&q->lock);
    while (q->running > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L)
            until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&q->changed, &q->lock, &until);
        pthread_mutex_unlock(&q->lock);
        report(q, m, total, 0, progress, ctx);
        pthread_mutex_lock(&q->lock);
    }
    pthread_mutex_unlock(&q->lock);
}

/* The layers to download: missing from the store, each digest once. */
static uint64_t plan(queue *q, const sm_manifest *m)
{
    uint64_t total = 0;
    for (size_t i = 0; i < m->count; i++) {
        const sm_descriptor *d = &m->items[i];
        bool dup = false;
        for (size_t j = 0; j < q->count && !dup; j++)
            dup = !strcmp(q->jobs[j]->digest, d->digest);
        if (dup || sm_store_has_blob(q->store, d->digest)) {
            if (!dup)
                end_feed(q, d, 0);
            continue;
        }
        q->jobs[q->count++] = d;
        total += (uint64_t)d->size;
    }
    return total;
}

static int run(queue *q, const sm_manifest *m, void (*progress)(const sm_oci_pull_progress *, void *),
               void *ctx)
{
    uint64_t total = plan(q, m);
    pthread_t threads[SM_PULL_THREADS];
    int started = 0;
    for (; started < SM_PULL_THREADS && (size_t)started < q->count; started++) {
        pthread_mutex_lock(&q->lock);
        q->running++;
        pthread_mutex_unlock(&q->lock);
        if (pthread_create(&threads[started], NULL, worker, q) != 0) {
            pthread_mutex_lock(&q->lock);
            q->running--;
            pthread_mutex_unlock(&q->lock);
            if (!started)
                return sm_fail(EAGAIN, "cannot start a download thread");
            break;
        }
    }
    wait_workers(q, m, total, progress, ctx);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (q->err)
        return sm_fail(q->err, "%s", q->message);
    report(q, m, total, 1, progress, ctx);
    return 0;
}

/* Whatever stopped the pull, no reader waits for a feed after it. */
static void end_all(const queue *q, int err)
{
    for (size_t i = 0; q->feeds && i < q->m->count; i++)
        if (q->feeds[i])
            sm_file_feed_end(q->feeds[i], err ? err : -ECANCELED);
}

int sm_pull_layers(sm_registry *r, const sm_store *s, const sm_manifest *m, const char *name,
                   sm_file_feed *const *feeds,
                   void (*progress)(const sm_oci_pull_progress *, void *), void *progress_ctx)
{
    queue q = {.reg = r, .store = s, .name = name, .m = m, .feeds = feeds};
    q.jobs = calloc(m->count + 1, sizeof *q.jobs);
    if (!q.jobs) {
        end_all(&q, -ENOMEM);
        return sm_fail(ENOMEM, "out of memory");
    }
    pthread_mutex_init(&q.lock, NULL);
    pthread_cond_init(&q.changed, NULL);
    int err = run(&q, m, progress, progress_ctx);
    end_all(&q, err);
    pthread_cond_destroy(&q.changed);
    pthread_mutex_destroy(&q.lock);
    free(q.jobs);
    return err;
}
