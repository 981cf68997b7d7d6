/* One epoll thread that runs device work off the vCPU threads. */
#ifndef SM_UTIL_EVENT_LOOP_H
#define SM_UTIL_EVENT_LOOP_H

#include <stdint.h>

typedef struct sm_event_loop sm_event_loop;
typedef void sm_event_fn(void *ctx, uint32_t events);

int sm_event_loop_new(sm_event_loop **out);
/* events: EPOLLIN/EPOLLOUT/...; fn runs on the loop thread. */
int sm_event_loop_add(sm_event_loop *l, int fd, uint32_t events, sm_event_fn *fn, void *ctx);
int sm_event_loop_mod(sm_event_loop *l, int fd, uint32_t events, sm_event_fn *fn, void *ctx);
void sm_event_loop_del(sm_event_loop *l, int fd);
/* on_start, when not NULL, runs first on the new thread (the worker
 * narrows the thread's syscalls there); its error is the start's, and
 * the thread then ends at once. */
int sm_event_loop_start(sm_event_loop *l, int (*on_start)(void));
/* Serve what is ready within timeout_ms on the caller's thread, for a
 * loop that was never started: tests and fuzzers drive devices this way,
 * one step at a time, the same every run. The count served, or -errno. */
int sm_event_loop_poll(sm_event_loop *l, int timeout_ms);
/* Stop and join the thread; safe to call when never started. */
void sm_event_loop_stop(sm_event_loop *l);
void sm_event_loop_free(sm_event_loop *l);

#endif
