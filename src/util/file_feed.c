#include "util/file_feed.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

int sm_file_feed_init(sm_file_feed *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    if (pthread_mutex_init(&f->lock, NULL) != 0)
        return sm_fail(ENOMEM, "cannot create a lock");
    if (pthread_cond_init(&f->grew, NULL) != 0) {
        pthread_mutex_destroy(&f->lock);
        return sm_fail(ENOMEM, "cannot create a condition variable");
    }
    return 0;
}

void sm_file_feed_destroy(sm_file_feed *f)
{
    if (f->fd >= 0)
        close(f->fd);
    pthread_cond_destroy(&f->grew);
    pthread_mutex_destroy(&f->lock);
}

int sm_file_feed_attach(sm_file_feed *f, int fd)
{
    int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (mine < 0)
        return sm_fail(errno, "cannot duplicate a file descriptor: %s", strerror(errno));
    pthread_mutex_lock(&f->lock);
    if (f->fd >= 0) { /* a second writer: what was read came from the first */
        close(f->fd);
        f->generation++;
    }
    f->fd = mine;
    f->written = 0;
    pthread_cond_broadcast(&f->grew);
    pthread_mutex_unlock(&f->lock);
    return 0;
}

void sm_file_feed_grow(sm_file_feed *f, uint64_t n)
{
    pthread_mutex_lock(&f->lock);
    f->written += n;
    pthread_cond_broadcast(&f->grew);
    pthread_mutex_unlock(&f->lock);
}

void sm_file_feed_restart(sm_file_feed *f)
{
    pthread_mutex_lock(&f->lock);
    f->written = 0;
    f->generation++;
    pthread_cond_broadcast(&f->grew);
    pthread_mutex_unlock(&f->lock);
}

void sm_file_feed_end(sm_file_feed *f, int status)
{
    pthread_mutex_lock(&f->lock);
    if (!f->ended) {
        f->ended = true;
        f->status = status;
    }
    pthread_cond_broadcast(&f->grew);
    pthread_mutex_unlock(&f->lock);
}

unsigned sm_file_feed_generation(sm_file_feed *f)
{
    pthread_mutex_lock(&f->lock);
    unsigned g = f->generation;
    pthread_mutex_unlock(&f->lock);
    return g;
}

ssize_t sm_file_feed_read(sm_file_feed *f, unsigned generation, void *buf, size_t len,
                          uint64_t off)
{
    pthread_mutex_lock(&f->lock);
    while (!f->ended && f->generation == generation && f->written <= off)
        pthread_cond_wait(&f->grew, &f->lock);
    ssize_t r;
    if (f->generation != generation)
        r = -ESTALE;
    else if (f->ended && f->status)
        r = f->status;
    else if (f->fd < 0)
        r = -ENOENT;
    else if (f->written <= off)
        r = 0;
    else {
        uint64_t have = f->written - off;
        size_t want = have < len ? (size_t)have : len;
        int fd = f->fd;
        pthread_mutex_unlock(&f->lock);
        /* Bytes below `written` never change within a generation. */
        do
            r = pread(fd, buf, want, (off_t)off);
        while (r < 0 && errno == EINTR);
        int e = r < 0 ? errno : 0;
        /* A writer that started over meanwhile may have cut the file short
         * (a read of 0 bytes would pass for the end) or closed `fd`: what
         * this read got is not this generation's. */
        pthread_mutex_lock(&f->lock);
        bool stale = f->generation != generation;
        pthread_mutex_unlock(&f->lock);
        return stale ? -ESTALE : r < 0 ? -e : r;
    }
    pthread_mutex_unlock(&f->lock);
    return r;
}

int sm_file_feed_wait(sm_file_feed *f)
{
    pthread_mutex_lock(&f->lock);
    while (!f->ended)
        pthread_cond_wait(&f->grew, &f->lock);
    int status = f->status;
    pthread_mutex_unlock(&f->lock);
    return status;
}
