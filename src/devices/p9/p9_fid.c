#include "devices/p9/p9_fid.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "devices/p9/p9_proto.h"

static unsigned bucket(uint32_t id)
{
    /* Fibonacci hashing: guests number fids densely, but need not. */
    return (unsigned)((id * 2654435761u) >> 22) % SM_P9_FID_BUCKETS;
}

sm_p9_fid *sm_p9_fid_get(sm_p9_fids *t, uint32_t id)
{
    for (sm_p9_fid *f = t->buckets[bucket(id)]; f; f = f->next)
        if (f->id == id)
            return f;
    return NULL;
}

sm_p9_fid *sm_p9_fid_add(sm_p9_fids *t, uint32_t id, int *err)
{
    if (id == SM_P9_NOFID || sm_p9_fid_get(t, id)) {
        *err = -EBADF;
        return NULL;
    }
    if (t->count >= SM_P9_MAX_FIDS) {
        *err = -EMFILE;
        return NULL;
    }
    sm_p9_fid *f = calloc(1, sizeof *f);
    if (!f) {
        *err = -ENOMEM;
        return NULL;
    }
    *f = (sm_p9_fid){.id = id, .fd = -1, .parent_fd = -1, .ofd = -1, .uid = SM_P9_NO_UID};
    unsigned b = bucket(id);
    f->next = t->buckets[b];
    t->buckets[b] = f;
    t->count++;
    return f;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static unsigned held(const sm_p9_fid *f)
{
    return (unsigned)(f->fd >= 0) + (unsigned)(f->parent_fd >= 0) + (unsigned)(f->ofd >= 0);
}

int sm_p9_fid_room(const sm_p9_fids *t, const sm_p9_fid *f, unsigned n)
{
    unsigned max = t->max_fds ? t->max_fds : SM_P9_MAX_FDS;
    unsigned others = t->fds - (f ? held(f) : 0);
    return n > max || others > max - n ? -EMFILE : 0;
}

int sm_p9_fid_set(sm_p9_fids *t, sm_p9_fid *f, int fd, int parent_fd, char *name)
{
    unsigned n = (unsigned)(fd >= 0) + (unsigned)(parent_fd >= 0) + (unsigned)(f->ofd >= 0);
    if (sm_p9_fid_room(t, f, n))
        return -EMFILE;
    t->fds -= held(f);
    close_fd(&f->fd);
    close_fd(&f->parent_fd);
    free(f->name);
    f->fd = fd;
    f->parent_fd = parent_fd;
    f->name = name;
    t->fds += held(f);
    return 0;
}

void sm_p9_fid_move(sm_p9_fids *t, sm_p9_fid *f, int parent_fd, char *name)
{
    t->fds -= held(f);
    close_fd(&f->parent_fd);
    free(f->name);
    f->parent_fd = parent_fd;
    f->name = name;
    t->fds += held(f);
}

int sm_p9_fid_set_open(sm_p9_fids *t, sm_p9_fid *f, int ofd)
{
    unsigned n = held(f) - (unsigned)(f->ofd >= 0) + (unsigned)(ofd >= 0);
    if (sm_p9_fid_room(t, f, n))
        return -EMFILE;
    t->fds -= held(f);
    close_fd(&f->ofd);
    f->ofd = ofd;
    t->fds += held(f);
    return 0;
}

static void release(sm_p9_fids *t, sm_p9_fid *f)
{
    t->fds -= held(f);
    close_fd(&f->fd);
    close_fd(&f->parent_fd);
    close_fd(&f->ofd);
    free(f->name);
    free(f);
}

void sm_p9_fid_remove(sm_p9_fids *t, uint32_t id)
{
    for (sm_p9_fid **p = &t->buckets[bucket(id)]; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            sm_p9_fid *f = *p;
            *p = f->next;
            release(t, f);
            t->count--;
            return;
        }
    }
}

void sm_p9_fid_clear(sm_p9_fids *t)
{
    for (unsigned b = 0; b < SM_P9_FID_BUCKETS; b++) {
        while (t->buckets[b]) {
            sm_p9_fid *f = t->buckets[b];
            t->buckets[b] = f->next;
            release(t, f);
        }
    }
    t->count = 0;
}
