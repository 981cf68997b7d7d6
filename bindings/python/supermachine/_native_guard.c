/* The guard of a handle used by threads with the GIL released: see
 * _native.h. A mutex and not the GIL, because sm_py_guard_wait_idle
 * blocks without the GIL while calls inside leave. */
#include "_native.h"

void sm_py_guard_init(sm_py_guard *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->idle, NULL);
    g->users = 0;
    g->closed = false;
}

void sm_py_guard_destroy(sm_py_guard *g)
{
    pthread_cond_destroy(&g->idle);
    pthread_mutex_destroy(&g->lock);
}

bool sm_py_guard_enter(sm_py_guard *g)
{
    pthread_mutex_lock(&g->lock);
    bool open = !g->closed;
    if (open)
        g->users++;
    pthread_mutex_unlock(&g->lock);
    return open;
}

bool sm_py_guard_leave(sm_py_guard *g)
{
    pthread_mutex_lock(&g->lock);
    bool last = --g->users == 0;
    if (last)
        pthread_cond_broadcast(&g->idle);
    last = last && g->closed;
    pthread_mutex_unlock(&g->lock);
    return last;
}

bool sm_py_guard_close(sm_py_guard *g, unsigned *users)
{
    pthread_mutex_lock(&g->lock);
    bool was_open = !g->closed;
    g->closed = true;
    if (users)
        *users = g->users;
    pthread_mutex_unlock(&g->lock);
    return was_open;
}

void sm_py_guard_wait_idle(sm_py_guard *g)
{
    pthread_mutex_lock(&g->lock);
    while (g->users)
        pthread_cond_wait(&g->idle, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

bool sm_py_guard_closed(sm_py_guard *g)
{
    pthread_mutex_lock(&g->lock);
    bool closed = g->closed;
    pthread_mutex_unlock(&g->lock);
    return closed;
}
