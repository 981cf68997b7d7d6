/* The VM pool, shared by the files of src/lib that implement it: the
 * public calls (pool.c), its threads (pool_threads.c) and its checked,
 * owned copy of the caller's configuration (pool_config.c). */
#ifndef SM_LIB_POOL_H
#define SM_LIB_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "supermachine.h"

/* The configuration with every string and array copied, so that VMs can be
 * started long after sm_pool_new returned. */
typedef struct sm_pool_settings {
    unsigned min, max, parallel_starts;
    uint32_t idle_timeout_ms, acquire_timeout_ms;
    sm_vm_config vm;
} sm_pool_settings;

/* Check `config` and fill `s` (free with sm_pool_settings_free). */
int sm_pool_settings_load(const sm_pool_config *config, sm_pool_settings *s);
void sm_pool_settings_free(sm_pool_settings *s);

/* A VM the pool holds, in one of its lists. */
typedef struct sm_pool_slot {
    struct sm_pool_slot *next;
    sm_vm *vm;
    uint64_t since_ns;         /* idle: when it became ready */
} sm_pool_slot;

struct sm_pool {
    sm_pool_settings cfg;
    const sm_image *image;
    pthread_mutex_t lock;
    pthread_cond_t ready;      /* a VM became idle, a start failed, or closing */
    pthread_cond_t work;       /* starters: a VM may be needed */
    pthread_cond_t janitor;    /* a VM to stop, or an idle one may expire */
    pthread_t *starters;
    unsigned nstarters;
    pthread_t stopper;
    bool stopper_running;
    sm_pool_slot *idle;        /* newest first: the oldest expire */
    sm_pool_slot *acquired;
    sm_pool_slot *doomed;      /* to stop */
    unsigned nidle, nacquired, nstarting, nstopping, nwaiting;
    bool closing, starters_done;
    /* Start failures: each bumps fail_seq, so that a waiter sees one that
     * happened while it waited; the sentence crosses to its thread. */
    uint64_t fail_seq;
    unsigned consecutive_failures;
    uint64_t retry_at_ns;      /* no start before this (backoff) */
    int fail_err;
    char fail_msg[1024];
    sm_pool_stats counters;    /* the cumulative fields */
};

/* pthread_cond_timedwait on CLOCK_MONOTONIC until deadline_ns (pool_threads.c). */
int sm_pool_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns);

/* Start the starter and stopper threads; stop and join them. */
int sm_pool_threads_start(sm_pool *p);
void sm_pool_threads_join(sm_pool *p);

#endif
