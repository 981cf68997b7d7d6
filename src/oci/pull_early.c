#include "oci/pull_early.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

typedef struct early {
    const sm_pull_hook *hook;
    const sm_store *store;
    const sm_manifest *m;
    const char *name;
    sm_file_feed **feeds;     /* per layer; layers of one digest share one */
    sm_file_feed *owned;      /* the distinct feeds */
    size_t n_owned;
    int err;
    char message[1024];       /* the early step's sentence, from its thread */
} early;

static void *run_early(void *arg)
{
    early *e = arg;
    e->err = e->hook->early(e->hook->ctx, e->store, e->m, e->name, e->feeds);
    if (e->err)
        snprintf(e->message, sizeof e->message, "%s", sm_error_text());
    return NULL;
}

static void free_feeds(early *e)
{
    for (size_t i = 0; i < e->n_owned; i++)
        sm_file_feed_destroy(&e->owned[i]);
    free(e->owned);
    free(e->feeds);
}

/* One feed per distinct layer the store lacks. */
static int make_feeds(early *e)
{
    size_t n = e->m->count;
    e->feeds = calloc(n + 1, sizeof *e->feeds);
    e->owned = calloc(n + 1, sizeof *e->owned);
    if (!e->feeds || !e->owned)
        return sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *digest = e->m->items[i].digest;
        for (size_t j = 0; j < i && !e->feeds[i]; j++)
            if (!strcmp(e->m->items[j].digest, digest))
                e->feeds[i] = e->feeds[j];
        if (e->feeds[i] || sm_store_has_blob(e->store, digest))
            continue;
        int err = sm_file_feed_init(&e->owned[e->n_owned]);
        if (err)
            return err;
        e->feeds[i] = &e->owned[e->n_owned++];
    }
    return 0;
}

int sm_pull_layers_early(sm_registry *r, const sm_store *s, const sm_manifest *m,
                         const char *name, const sm_pull_hook *hook,
                         const sm_oci_pull_options *o)
{
    if (!hook || !hook->early)
        return sm_pull_layers(r, s, m, name, NULL, o->progress, o->progress_ctx);
    early e = {.hook = hook, .store = s, .m = m, .name = name};
    pthread_t thread;
    int err = make_feeds(&e);
    if (!err && pthread_create(&thread, NULL, run_early, &e) != 0)
        err = sm_fail(EAGAIN, "cannot start a thread to build the image while it downloads");
    if (err) {
        free_feeds(&e);
        return err;
    }
    err = sm_pull_layers(r, s, m, name, e.feeds, o->progress, o->progress_ctx);
    pthread_join(thread, NULL);
    if (!err && e.err)
        err = sm_fail(-e.err, "%s", e.message);
    free_feeds(&e);
    return err;
}
