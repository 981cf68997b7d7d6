/* The agent's small helpers: the fd -> watch table, buffers, time, log. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"

int agent_watch(agent *a, int fd, watch *w, uint32_t events)
{
    if ((size_t)fd >= a->nwatches) {
        size_t n = a->nwatches ? a->nwatches : 64;
        while (n <= (size_t)fd)
            n *= 2;
        watch **t = realloc(a->watches, n * sizeof *t);
        if (!t)
            return -ENOMEM;
        for (size_t i = a->nwatches; i < n; i++)
            t[i] = NULL;
        a->watches = t;
        a->nwatches = n;
    }
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)fd};
    if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    a->watches[fd] = w;
    return 0;
}

int agent_rewatch(agent *a, int fd, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)fd};
    return epoll_ctl(a->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

watch *agent_watch_of(agent *a, int fd)
{
    return fd >= 0 && (size_t)fd < a->nwatches ? a->watches[fd] : NULL;
}

/* Closing the last fd of a file removes it from epoll, so no EPOLL_CTL_DEL
 * (a command holding a copy keeps it registered; its events then find no
 * watch or a newer one and only cause a spurious read). */
void agent_close(agent *a, int *fd)
{
    if (*fd < 0)
        return;
    if ((size_t)*fd < a->nwatches)
        a->watches[*fd] = NULL;
    close(*fd);
    *fd = -1;
}

/* Pooled so that connections do not mmap and munmap their buffers. */
void *agent_buf_get(agent *a)
{
    if (a->npool)
        return a->pool[--a->npool];
    return malloc(AGENT_BUF_SIZE);
}

void agent_buf_put(agent *a, void *buf)
{
    if (!buf)
        return;
    if (a->npool < AGENT_POOL_MAX)
        a->pool[a->npool++] = buf;
    else
        free(buf);
}

uint64_t agent_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void agent_log(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof msg - 2)
        n = sizeof msg - 2;
    msg[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, msg, (size_t)n);
    (void)w;
}

char *agent_inherited_env(const char *name)
{
    extern char **environ;
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e;
    return NULL;
}
