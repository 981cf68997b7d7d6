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
    *f = (sm_p9_fid){.id = id, .fd = -1, .parent_fd = -1, .ofd = -1};
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

void sm_p9_fid_set(sm_p9_fid *f, int fd, int parent_fd, char *name)
{
    close_fd(&f->fd);
    close_fd(&f->parent_fd);
    free(f->name);
    f->fd = fd;
    f->parent_fd = parent_fd;
    f->name = name;
}

static void release(sm_p9_fid *f)
{
    sm_p9_fid_set(f, -1, -1, NULL);
    close_fd(&f->ofd);
    free(f);
}

void sm_p9_fid_remove(sm_p9_fids *t, uint32_t id)
{
    for (sm_p9_fid **p = &t->buckets[bucket(id)]; *p; p = &(*p)->next) {
        if ((*p)->id == id) {
            sm_p9_fid *f = *p;
            *p = f->next;
            release(f);
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
            release(f);
        }
    }
    t->count = 0;
}
