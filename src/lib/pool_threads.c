/* A pool's own threads: starters, which start VMs while fewer than
 * min + waiters are idle or starting (and fewer than max exist), and one
 * stopper, which stops released VMs and idle ones that expired.
 *
 * sm_vm_start and sm_vm_stop take long (a boot, a worker's exit), so both
 * run with the pool's lock released; the counts of VMs starting and
 * stopping say where those VMs are meanwhile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pool.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define BACKOFF_FIRST_MS 100u
#define BACKOFF_MAX_MS 10000u

int sm_pool_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns)
{
    struct timespec t = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
                         .tv_nsec = (long)(deadline_ns % 1000000000u)};
    return pthread_cond_timedwait(c, m, &t);
}

static bool wants_a_vm(const sm_pool *p)
{
    unsigned total = p->nidle + p->nacquired + p->nstarting;
    return !p->closing && total < p->cfg.max &&
           p->nidle + p->nstarting < p->cfg.min + p->nwaiting;
}

/* After consecutive failures, each start waits twice as long as the last. */
static uint64_t backoff_ns(unsigned failures)
{
    uint64_t ms = BACKOFF_FIRST_MS;
    for (unsigned i = 1; i < failures && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    return (ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS) * 1000000ull;
}

static void start_failed(sm_pool *p, int err, const char *msg)
{
    p->counters.failed_starts++;
    p->consecutive_failures++;
    p->fail_seq++;
    p->fail_err = err;
    snprintf(p->fail_msg, sizeof p->fail_msg, "%s", msg);
    p->retry_at_ns = sm_now_ns() + backoff_ns(p->consecutive_failures);
    sm_debug("pool: a VM failed to start (%d in a row): %s", p->consecutive_failures, msg);
    pthread_cond_broadcast(&p->ready);   /* its waiters learn why */
}

static void start_done(sm_pool *p, sm_pool_slot *s)
{
    p->counters.started++;
    p->consecutive_failures = 0;
    p->retry_at_ns = 0;
    s->since_ns = sm_now_ns();
    if (p->closing) {
        s->next = p->doomed, p->doomed = s;
    } else {
        s->next = p->idle, p->idle = s;
        p->nidle++;
        pthread_cond_broadcast(&p->ready);
    }
    pthread_cond_broadcast(&p->janitor);   /* stop it, or expire an older one */
}

/* One start, with the lock released meanwhile. */
static void start_one(sm_pool *p)
{
    char msg[sizeof p->fail_msg];
    p->nstarting++;
    pthread_mutex_unlock(&p->lock);
    sm_pool_slot *s = calloc(1, sizeof *s);
    int err = s ? sm_vm_start(p->image, &p->cfg.vm, &s->vm) : sm_fail(ENOMEM, "out of memory");
    if (err)
        snprintf(msg, sizeof msg, "%s", sm_last_error());
    pthread_mutex_lock(&p->lock);
    p->nstarting--;
    if (err) {
        free(s);
        start_failed(p, err, msg);
    } else {
        start_done(p, s);
    }
}

static void *starter(void *arg)
{
    sm_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->closing) {
        if (!wants_a_vm(p))
            pthread_cond_wait(&p->work, &p->lock);
        else if (sm_now_ns() < p->retry_at_ns)
            sm_pool_wait_until(&p->work, &p->lock, p->retry_at_ns);
        else
            start_one(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Move idle VMs past their time to the doomed list, keeping the `min`
 * newest; returns when the next one expires (0: none will). */
static uint64_t expire_idle(sm_pool *p, uint64_t now)
{
    uint64_t next = 0, timeout = p->cfg.idle_timeout_ms * 1000000ull;
    if (!timeout || p->closing)
        return 0;
    unsigned i = 0;
    for (sm_pool_slot **at = &p->idle; *at; i++) {
        sm_pool_slot *s = *at;
        if (i < p->cfg.min || s->since_ns + timeout > now) {
            if (i >= p->cfg.min && (!next || s->since_ns + timeout < next))
                next = s->since_ns + timeout;
            at = &s->next;
            continue;
        }
        *at = s->next;
        s->next = p->doomed, p->doomed = s;
        p->nidle--;
        p->counters.expired++;
    }
    return next;
}

static void stop_one(sm_pool *p)
{
    sm_pool_slot *s = p->doomed;
    p->doomed = s->next;
    p->nstopping++;
    pthread_mutex_unlock(&p->lock);
    sm_vm_stop(s->vm);
    free(s);
    pthread_mutex_lock(&p->lock);
    p->nstopping--;
}

static void *stopper(void *arg)
{
    sm_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        uint64_t next = expire_idle(p, sm_now_ns());
        if (p->doomed)
            stop_one(p);
        else if (p->starters_done)
            break;
        else if (next)
            sm_pool_wait_until(&p->janitor, &p->lock, next);
        else
            pthread_cond_wait(&p->janitor, &p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Our threads keep the signal mask of the thread that made the pool (a
 * program that blocks signals everywhere but in one thread stays right),
 * and so do the workers they spawn, as if that thread had started them. */
static int spawn(pthread_t *t, void *(*fn)(void *), sm_pool *p)
{
    int rc = pthread_create(t, NULL, fn, p);
    return rc ? sm_fail(rc, "cannot start a thread for the pool: %s", strerror(rc)) : 0;
}

int sm_pool_threads_start(sm_pool *p)
{
    p->starters = calloc(p->cfg.parallel_starts, sizeof *p->starters);
    if (!p->starters)
        return sm_fail(ENOMEM, "out of memory");
    int err = spawn(&p->stopper, stopper, p);
    p->stopper_running = !err;
    while (!err && p->nstarters < p->cfg.parallel_starts) {
        err = spawn(&p->starters[p->nstarters], starter, p);
        p->nstarters += !err;
    }
    if (err) {
        pthread_mutex_lock(&p->lock);
        p->closing = true;
        pthread_mutex_unlock(&p->lock);
        sm_pool_threads_join(p);
    }
    return err;
}

void sm_pool_threads_join(sm_pool *p)
{
    pthread_mutex_lock(&p->lock);
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nstarters; i++)
        pthread_join(p->starters[i], NULL);
    p->nstarters = 0;
    pthread_mutex_lock(&p->lock);
    p->starters_done = true;
    pthread_cond_broadcast(&p->janitor);
    pthread_mutex_unlock(&p->lock);
    if (p->stopper_running)
        pthread_join(p->stopper, NULL);
    p->stopper_running = false;
}
