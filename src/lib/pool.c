/* sm_pool_*: VMs started ahead of time, handed out once and discarded.
 *
 * One mutex guards the pool's lists and counts. Threads of the caller
 * take idle VMs (acquire) and give acquired ones back (release); the
 * pool's own threads (pool_threads.c) start VMs until `min` are idle or
 * waiters are served, and stop released and expired ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/abi.h"
#include "lib/pool.h"
#include "util/clock.h"
#include "util/error.h"

static int init_sync(sm_pool *p)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) || pthread_condattr_setclock(&attr, CLOCK_MONOTONIC))
        return sm_fail(ENOMEM, "cannot set up the pool's condition variables");
    int bad = pthread_mutex_init(&p->lock, NULL) | pthread_cond_init(&p->ready, &attr) |
              pthread_cond_init(&p->work, &attr) | pthread_cond_init(&p->janitor, &attr);
    pthread_condattr_destroy(&attr);
    return bad ? sm_fail(ENOMEM, "cannot set up the pool's locks") : 0;
}

static void destroy(sm_pool *p)
{
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->ready);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->janitor);
    sm_pool_settings_free(&p->cfg);
    free(p->starters);
    free(p);
}

int sm_pool_new(const sm_image *image, const sm_pool_config *config, sm_pool **out)
{
    if (!out)
        return sm_fail(EINVAL, "sm_pool_new: out is required");
    sm_pool *p = calloc(1, sizeof *p);
    if (!p)
        return sm_fail(ENOMEM, "out of memory");
    int err = sm_pool_settings_load(config, &p->cfg);
    if (err) {
        free(p);
        return err;
    }
    p->image = image;
    if ((err = init_sync(p)) != 0) {
        sm_pool_settings_free(&p->cfg);
        free(p);
        return err;
    }
    if ((err = sm_pool_threads_start(p)) != 0) {
        destroy(p);
        return err;
    }
    *out = p;
    return 0;
}

static void push(sm_pool_slot **list, sm_pool_slot *s)
{
    s->next = *list;
    *list = s;
}

/* The slot of vm in *list, taken out of it; NULL if it is not there. */
static sm_pool_slot *take(sm_pool_slot **list, const sm_vm *vm)
{
    for (sm_pool_slot **at = list; *at; at = &(*at)->next) {
        if ((*at)->vm == vm) {
            sm_pool_slot *s = *at;
            *at = s->next;
            return s;
        }
    }
    return NULL;
}

static int timed_out(sm_pool *p)
{
    p->counters.timeouts++;
    if (p->consecutive_failures)
        return sm_fail(ETIMEDOUT, "no VM of the pool came free within %u ms; the last VM "
                       "that failed to start said: %s", p->cfg.acquire_timeout_ms, p->fail_msg);
    return sm_fail(ETIMEDOUT, "no VM of the pool came free within %u ms (%u in use, at most %u): "
                   "release VMs sooner, or raise max or acquire_timeout_ms",
                   p->cfg.acquire_timeout_ms, p->nacquired, p->cfg.max);
}

/* Wait, with the lock held, until a VM is idle; 0 or why not. */
static int wait_for_idle(sm_pool *p)
{
    uint64_t deadline = p->cfg.acquire_timeout_ms
                            ? sm_now_ns() + p->cfg.acquire_timeout_ms * 1000000ull
                            : 0;
    uint64_t seen_failures = p->fail_seq;
    int err = 0;
    p->nwaiting++;
    pthread_cond_broadcast(&p->work);   /* a waiter may need a start */
    while (!p->idle && !err) {
        if (p->closing)
            err = sm_fail(ECANCELED, "the pool is closed (sm_pool_close or sm_pool_free)");
        else if (p->fail_seq != seen_failures)
            err = sm_fail(p->fail_err, "the pool could not start a VM: %s", p->fail_msg);
        else if (!deadline)
            pthread_cond_wait(&p->ready, &p->lock);
        else if (sm_pool_wait_until(&p->ready, &p->lock, deadline) == ETIMEDOUT && !p->idle)
            err = timed_out(p);
    }
    p->nwaiting--;
    if (p->closing)
        pthread_cond_broadcast(&p->ready);   /* sm_pool_free waits for waiters to leave */
    return err;
}

int sm_pool_acquire(sm_pool *pool, sm_vm **vm)
{
    if (!pool || !vm)
        return sm_fail(EINVAL, "sm_pool_acquire needs a pool and a place for the VM");
    pthread_mutex_lock(&pool->lock);
    int err = pool->idle ? 0 : wait_for_idle(pool);
    if (!err) {
        sm_pool_slot *s = pool->idle;
        pool->idle = s->next;
        pool->nidle--;
        push(&pool->acquired, s);
        pool->nacquired++;
        pool->counters.acquisitions++;
        *vm = s->vm;
        pthread_cond_broadcast(&pool->work);   /* below min now: refill */
    }
    pthread_mutex_unlock(&pool->lock);
    return err;
}

int sm_pool_release(sm_pool *pool, sm_vm *vm)
{
    if (!pool || !vm)
        return sm_fail(EINVAL, "sm_pool_release needs a pool and a VM");
    pthread_mutex_lock(&pool->lock);
    sm_pool_slot *s = take(&pool->acquired, vm);
    if (s) {
        pool->nacquired--;
        pool->counters.discarded++;
        push(&pool->doomed, s);
        pthread_cond_broadcast(&pool->janitor);
        pthread_cond_broadcast(&pool->work);
    }
    pthread_mutex_unlock(&pool->lock);
    if (!s)
        return sm_fail(EINVAL, "this VM is not acquired from this pool (released twice, or "
                       "from another pool or sm_vm_start?): stop it with sm_vm_stop");
    return 0;
}

int sm_pool_get_stats(sm_pool *pool, sm_pool_stats *stats)
{
    if (!pool || !stats)
        return sm_fail(EINVAL, "sm_pool_get_stats needs a pool and a place for the stats");
    pthread_mutex_lock(&pool->lock);
    sm_pool_stats s = pool->counters;
    s.size = sizeof s;
    s.idle = pool->nidle;
    s.acquired = pool->nacquired;
    s.starting = pool->nstarting;
    s.stopping = pool->nstopping;
    s.waiting = pool->nwaiting;
    pthread_mutex_unlock(&pool->lock);
    return SM_ABI_OUT(stats, &s, sm_pool_stats);
}

static void doom_all(sm_pool *p, sm_pool_slot **list)
{
    while (*list) {
        sm_pool_slot *s = *list;
        *list = s->next;
        push(&p->doomed, s);
    }
}

/* With the lock held: no more acquires or starts, idle VMs to stop. The
 * stopper goes on (until sm_pool_free joins it), so acquired VMs released
 * later are still stopped. */
static void close_locked(sm_pool *p)
{
    p->closing = true;
    doom_all(p, &p->idle);
    p->nidle = 0;
    pthread_cond_broadcast(&p->ready);
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->janitor);
}

void sm_pool_close(sm_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    close_locked(pool);
    pthread_mutex_unlock(&pool->lock);
}

void sm_pool_free(sm_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    close_locked(pool);
    doom_all(pool, &pool->acquired);
    pool->nacquired = 0;
    pthread_mutex_unlock(&pool->lock);
    sm_pool_threads_join(pool);
    pthread_mutex_lock(&pool->lock);
    while (pool->nwaiting)
        pthread_cond_wait(&pool->ready, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    destroy(pool);
}
