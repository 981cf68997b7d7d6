#include "util/event_loop.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/error.h"

/* epoll's data pointer refers to one of these; they are freed only when the
 * loop is, so an event already fetched never points to freed memory. */
typedef struct watch {
    struct watch *next;
    int fd;
    sm_event_fn *fn;
    void *ctx;
} watch;

struct sm_event_loop {
    int epfd;
    int stop_fd;
    pthread_t thread;
    bool started;
    int (*on_start)(void);
    int start_err;          /* on_start's result, posted through started_sem */
    char start_msg[512];    /* and its sentence (thread-local where it was made) */
    sem_t started_sem;
    pthread_mutex_t lock;   /* guards the watch list */
    watch *watches;
};

int sm_event_loop_new(sm_event_loop **out)
{
    sm_event_loop *l = calloc(1, sizeof *l);
    if (!l)
        return sm_fail(ENOMEM, "out of memory");
    pthread_mutex_init(&l->lock, NULL);
    l->stop_fd = -1;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (l->epfd < 0 || l->stop_fd < 0 ||
        epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->stop_fd, &ev) < 0) {
        int err = sm_fail(errno, "cannot create the device event loop: %s", strerror(errno));
        sm_event_loop_free(l);
        return err;
    }
    *out = l;
    return 0;
}

/* A deleted watch is reused rather than freed: an event fetched for it
 * before the delete may still be handled, and then reaches the new fd's
 * handler as a spurious wakeup, which every handler tolerates (their fds
 * are non-blocking). Without reuse, each connection would leak one. */
static watch *find_or_make(sm_event_loop *l, int fd)
{
    watch *dead = NULL;
    for (watch *w = l->watches; w; w = w->next) {
        if (w->fd == fd)
            return w;
        if (w->fd == -1 && !dead)
            dead = w;
    }
    if (dead) {
        dead->fd = fd;
        return dead;
    }
    watch *w = calloc(1, sizeof *w);
    if (w) {
        w->fd = fd;
        w->next = l->watches;
        l->watches = w;
    }
    return w;
}

static int ctl(sm_event_loop *l, int op, int fd, uint32_t events, sm_event_fn *fn, void *ctx)
{
    pthread_mutex_lock(&l->lock);
    watch *w = find_or_make(l, fd);
    int err = 0;
    if (!w) {
        err = sm_fail(ENOMEM, "out of memory");
    } else {
        w->fn = fn;
        w->ctx = ctx;
        struct epoll_event ev = {.events = events, .data.ptr = w};
        if (epoll_ctl(l->epfd, op, fd, &ev) < 0)
            err = sm_fail(errno, "epoll_ctl on fd %d: %s", fd, strerror(errno));
    }
    pthread_mutex_unlock(&l->lock);
    return err;
}

int sm_event_loop_add(sm_event_loop *l, int fd, uint32_t events, sm_event_fn *fn, void *ctx)
{
    return ctl(l, EPOLL_CTL_ADD, fd, events, fn, ctx);
}

int sm_event_loop_mod(sm_event_loop *l, int fd, uint32_t events, sm_event_fn *fn, void *ctx)
{
    return ctl(l, EPOLL_CTL_MOD, fd, events, fn, ctx);
}

void sm_event_loop_del(sm_event_loop *l, int fd)
{
    pthread_mutex_lock(&l->lock);
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    for (watch *w = l->watches; w; w = w->next)
        if (w->fd == fd)
            w->fn = NULL, w->fd = -1;
    pthread_mutex_unlock(&l->lock);
}

/* Run the handlers of what epoll reported; false once told to stop. */
static bool dispatch(sm_event_loop *l, const struct epoll_event *evs, int n)
{
    for (int i = 0; i < n; i++) {
        watch *w = evs[i].data.ptr;
        if (!w)
            return false; /* the stop eventfd */
        pthread_mutex_lock(&l->lock);
        sm_event_fn *fn = w->fn;
        void *ctx = w->ctx;
        pthread_mutex_unlock(&l->lock);
        if (fn)
            fn(ctx, evs[i].events);
    }
    return true;
}

static void *loop_main(void *arg)
{
    sm_event_loop *l = arg;
    sigset_t all;
    sigfillset(&all);
    /* The kernel turns a blocked SIGSYS into a silent kill: a syscall the
     * worker's filter refuses here must reach its handler and the log. */
    sigdelset(&all, SIGSYS);
    pthread_sigmask(SIG_SETMASK, &all, NULL);
    /* The name tells a log (and top -H) which thread did what. */
    pthread_setname_np(pthread_self(), "sm-devices");
    l->start_err = l->on_start ? l->on_start() : 0;
    int failed = l->start_err;
    if (failed)
        snprintf(l->start_msg, sizeof l->start_msg, "%s", sm_error_text());
    sem_post(&l->started_sem);
    if (failed)
        return NULL;
    struct epoll_event evs[32];
    for (;;) {
        int n = epoll_wait(l->epfd, evs, 32, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || !dispatch(l, evs, n))
            return NULL;
    }
}

int sm_event_loop_poll(sm_event_loop *l, int timeout_ms)
{
    struct epoll_event evs[32];
    int n = epoll_wait(l->epfd, evs, 32, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : sm_fail(errno, "epoll_wait: %s", strerror(errno));
    dispatch(l, evs, n);
    return n;
}

int sm_event_loop_start(sm_event_loop *l, int (*on_start)(void))
{
    l->on_start = on_start;
    if (sem_init(&l->started_sem, 0, 0) < 0)
        return sm_fail(errno, "cannot start the device thread: %s", strerror(errno));
    int rc = pthread_create(&l->thread, NULL, loop_main, l);
    if (rc) {
        sem_destroy(&l->started_sem);
        return sm_fail(rc, "cannot start the device thread: %s", strerror(rc));
    }
    while (sem_wait(&l->started_sem) < 0)
        ;   /* EINTR */
    sem_destroy(&l->started_sem);
    l->started = true;
    return l->start_err ? sm_fail(-l->start_err, "the device thread: %s", l->start_msg) : 0;
}

void sm_event_loop_stop(sm_event_loop *l)
{
    if (!l || !l->started)
        return;
    uint64_t one = 1;
    ssize_t n = write(l->stop_fd, &one, sizeof one);
    (void)n;
    pthread_join(l->thread, NULL);
    l->started = false;
}

void sm_event_loop_free(sm_event_loop *l)
{
    if (!l)
        return;
    sm_event_loop_stop(l);
    for (watch *w = l->watches, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    if (l->epfd >= 0)
        close(l->epfd);
    if (l->stop_fd >= 0)
        close(l->stop_fd);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
