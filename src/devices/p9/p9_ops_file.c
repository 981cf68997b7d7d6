/* Attributes, opening, creating, reading and writing files, links' targets
 * and (nominal) locks. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/p9/p9_int.h"

#define RW_HEADER (SM_P9_HEADER + 4)   /* Rread: header, count[4] */

static int stat_fid(sm_p9_server *s, const sm_p9_fid *f, struct stat *st)
{
    return f->kind == SM_P9_FID_VROOT ? sm_p9_vroot_stat(s, st) : sm_p9_stat(f->fd, st);
}

int sm_p9_getattr(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    struct stat st;
    int err = sm_p9_node(s, r->fid, &f);
    if (!err)
        err = stat_fid(s, f, &st);
    if (err)
        return err;
    sm_p9_qid q = sm_p9_qid_of(s, &st);
    sm_p9_put64(w, SM_P9_GETATTR_BASIC);
    sm_p9_put_qid(w, &q);
    sm_p9_put32(w, st.st_mode);
    sm_p9_put32(w, st.st_uid);
    sm_p9_put32(w, st.st_gid);
    sm_p9_put64(w, st.st_nlink);
    sm_p9_put64(w, st.st_rdev);
    sm_p9_put64(w, (uint64_t)st.st_size);
    sm_p9_put64(w, (uint64_t)st.st_blksize);
    sm_p9_put64(w, (uint64_t)st.st_blocks);
    sm_p9_put64(w, (uint64_t)st.st_atim.tv_sec);
    sm_p9_put64(w, (uint64_t)st.st_atim.tv_nsec);
    sm_p9_put64(w, (uint64_t)st.st_mtim.tv_sec);
    sm_p9_put64(w, (uint64_t)st.st_mtim.tv_nsec);
    sm_p9_put64(w, (uint64_t)st.st_ctim.tv_sec);
    sm_p9_put64(w, (uint64_t)st.st_ctim.tv_nsec);
    for (int i = 0; i < 4; i++)
        sm_p9_put64(w, 0);   /* btime, gen, data_version: not in BASIC */
    return 0;
}

/* Never a set-uid or set-gid file on the host (a set-gid directory only
 * makes new entries inherit its group, which is harmless). */
static mode_t safe_mode(mode_t mode, bool dir)
{
    mode &= 07777;
    mode &= ~(mode_t)S_ISUID;
    if (!dir)
        mode &= ~(mode_t)S_ISGID;
    return mode;
}

static struct timespec when(bool change, bool set, uint64_t sec, uint64_t nsec)
{
    if (!change)
        return (struct timespec){.tv_nsec = UTIME_OMIT};
    if (!set)
        return (struct timespec){.tv_nsec = UTIME_NOW};
    return (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = (long)nsec};
}

static int set_attrs(const sm_p9_fid *f, const sm_p9_attrs *a, const struct stat *st)
{
    char p[32];
    sm_p9_proc_path(p, f->fd);
    /* Through /proc the fd's own inode is changed, a symlink's included:
     * nothing here follows a link. */
    if ((a->valid & SM_P9_SETATTR_MODE) &&
        chmod(p, safe_mode(a->mode, S_ISDIR(st->st_mode))) < 0)
        return -errno;
    if ((a->valid & (SM_P9_SETATTR_UID | SM_P9_SETATTR_GID)) &&
        fchownat(f->fd, "", (a->valid & SM_P9_SETATTR_UID) ? a->uid : (uid_t)-1,
                 (a->valid & SM_P9_SETATTR_GID) ? a->gid : (gid_t)-1,
                 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (a->valid & SM_P9_SETATTR_SIZE) {
        if (a->size > INT64_MAX)
            return -EFBIG;
        if (!S_ISREG(st->st_mode))
            return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
        if (truncate(p, (off_t)a->size) < 0)
            return -errno;
    }
    if (a->valid & (SM_P9_SETATTR_ATIME | SM_P9_SETATTR_MTIME)) {
        struct timespec t[2] = {
            when(a->valid & SM_P9_SETATTR_ATIME, a->valid & SM_P9_SETATTR_ATIME_SET,
                 a->atime_sec, a->atime_nsec),
            when(a->valid & SM_P9_SETATTR_MTIME, a->valid & SM_P9_SETATTR_MTIME_SET,
                 a->mtime_sec, a->mtime_nsec)};
        if (utimensat(AT_FDCWD, p, t, 0) < 0)
            return -errno;
    }
    return 0;
}

int sm_p9_setattr(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *f;
    struct stat st;
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    if (s->read_only)
        return -EROFS;
    if (f->kind == SM_P9_FID_VROOT)
        return -EPERM;
    if ((err = sm_p9_stat(f->fd, &st)) != 0)
        return err;
    return set_attrs(f, &r->attr, &st);
}

/* Host open flags for a Tlopen/Tlcreate's, or -EROFS. O_NONBLOCK keeps a
 * FIFO or a device from ever blocking the device's thread. */
static int host_flags(const sm_p9_server *s, uint32_t f)
{
    int acc = (f & SM_P9_DOTL_ACCMODE) == SM_P9_DOTL_WRONLY ? O_WRONLY
            : (f & SM_P9_DOTL_ACCMODE) == SM_P9_DOTL_RDWR ? O_RDWR : O_RDONLY;
    if (s->read_only && (acc != O_RDONLY || (f & SM_P9_DOTL_TRUNC)))
        return -EROFS;
    return acc | O_NONBLOCK | ((f & SM_P9_DOTL_TRUNC) ? O_TRUNC : 0) |
           ((f & SM_P9_DOTL_APPEND) ? O_APPEND : 0) | ((f & SM_P9_DOTL_DSYNC) ? O_DSYNC : 0) |
           ((f & SM_P9_DOTL_SYNC) ? O_SYNC : 0);
}

static void reply_open(sm_p9_w *w, const sm_p9_qid *q)
{
    sm_p9_put_qid(w, q);
    sm_p9_put32(w, 0);   /* iounit: the client derives it from msize */
}

int sm_p9_lopen(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    struct stat st;
    int err = sm_p9_node(s, r->fid, &f);
    if (!err && (f->opened || f->ofd >= 0))
        err = -EBUSY;
    if (!err)
        err = stat_fid(s, f, &st);
    int flags = err ? err : host_flags(s, r->flags);
    if (flags < 0)
        return flags;
    if (S_ISDIR(st.st_mode) && (flags & O_ACCMODE) != O_RDONLY)
        return -EISDIR;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return S_ISLNK(st.st_mode) ? -ELOOP : -EPERM;
    if (f->kind == SM_P9_FID_NODE) {
        int fd = sm_p9_reopen(f->fd, S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY : flags);
        if (fd < 0)
            return fd;
        if ((err = sm_p9_fid_set_open(&s->fids, f, fd)) != 0) {
            close(fd);
            return err;
        }
        f->writable = (flags & O_ACCMODE) != O_RDONLY;
    }
    f->opened = true;
    sm_p9_qid q = sm_p9_qid_of(s, &st);
    reply_open(w, &q);
    return 0;
}

int sm_p9_lcreate(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *d;
    struct stat st;
    int err = sm_p9_dir_for_change(s, r->fid, r->name, &d);
    if (!err && (d->opened || d->ofd >= 0))
        err = -EBUSY;
    /* Checked before the file exists: the fid will hold it, its open
     * descriptor and its directory. */
    if (!err)
        err = sm_p9_fid_room(&s->fids, d, 3);
    int flags = err ? err : host_flags(s, r->flags);
    if (flags < 0)
        return flags;
    /* Made here or there already: only a file made here is given to its
     * creator. */
    int ofd = sm_p9_open_beneath(d->fd, r->name, flags | O_CREAT | O_EXCL,
                                 safe_mode(r->mode, false) & 0777);
    if (ofd >= 0)
        sm_p9_own(ofd, NULL, d->uid, r->gid);
    else if (ofd == -EEXIST && !(r->flags & SM_P9_DOTL_EXCL))
        ofd = sm_p9_open_beneath(d->fd, r->name, flags, 0);
    if (ofd < 0)
        return ofd;
    int pfd = sm_p9_reopen(ofd, O_PATH), dir = dup(d->fd);
    char *name = strdup(r->name);
    err = pfd < 0 ? pfd : dir < 0 ? -errno : !name ? -ENOMEM : sm_p9_stat(pfd, &st);
    /* The fid now stands for the new, open file. */
    if (!err && (err = sm_p9_fid_set(&s->fids, d, pfd, dir, name)) == 0)
        sm_p9_fid_set_open(&s->fids, d, ofd);
    if (err) {
        close(ofd);
        if (pfd >= 0)
            close(pfd);
        if (dir >= 0)
            close(dir);
        free(name);
        return err;
    }
    d->opened = true;
    d->writable = (flags & O_ACCMODE) != O_RDONLY;
    sm_p9_qid q = sm_p9_qid_of(s, &st);
    reply_open(w, &q);
    return 0;
}

static int io_fid(sm_p9_server *s, uint32_t id, uint64_t offset, sm_p9_fid **out)
{
    sm_p9_fid *f = sm_p9_fid_get(&s->fids, id);
    if (!f)
        return -EBADF;
    if (offset > INT64_MAX)
        return -EINVAL;
    *out = f;
    if (f->kind == SM_P9_FID_XATTR)
        return 0;
    if (f->kind == SM_P9_FID_VROOT)
        return -EISDIR;
    return f->ofd >= 0 ? 0 : -EBADF;
}

int sm_p9_read(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    int err = io_fid(s, r->fid, r->offset, &f);
    if (err)
        return err;
    size_t room = w->cap > RW_HEADER ? w->cap - RW_HEADER : 0;
    size_t want = r->count < room ? r->count : room;
    uint8_t *out = sm_p9_reserve(w, 4 + want);
    if (!out)
        return -ENOBUFS;
    ssize_t n = 0;
    if (f->kind != SM_P9_FID_XATTR) {
        while ((n = pread(f->ofd, out + 4, want, (off_t)r->offset)) < 0 && errno == EINTR)
            ;
        if (n < 0)
            return errno == EAGAIN ? -EAGAIN : -errno;
    }
    sm_p9_put32(w, (uint32_t)n);
    w->len += (size_t)n;
    return 0;
}

int sm_p9_write(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    int err = io_fid(s, r->fid, r->offset, &f);
    if (err)
        return err;
    if (s->read_only)
        return -EROFS;
    if (f->kind == SM_P9_FID_XATTR)
        return -EBADF;
    ssize_t n;
    while ((n = pwrite(f->ofd, r->data, r->count, (off_t)r->offset)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    sm_p9_put32(w, (uint32_t)n);
    return 0;
}

int sm_p9_fsync(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *f = sm_p9_fid_get(&s->fids, r->fid);
    if (!f)
        return -EBADF;
    if (f->ofd < 0 || s->read_only)
        return 0;   /* nothing of ours to flush */
    return (r->flags ? fdatasync(f->ofd) : fsync(f->ofd)) < 0 ? -errno : 0;
}

int sm_p9_readlink(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    char target[SM_P9_TARGET_MAX + 1];
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    if (f->kind == SM_P9_FID_VROOT)
        return -EINVAL;
    ssize_t n = readlinkat(f->fd, "", target, sizeof target);
    if (n < 0)
        return errno == ENOENT ? -EINVAL : -errno;
    if ((size_t)n == sizeof target)
        return -ENAMETOOLONG;
    sm_p9_put_str(w, target, (size_t)n);
    return 0;
}

/* Locks: granted without a host lock (see p9_server.h). */
int sm_p9_lock(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    sm_p9_put8(w, SM_P9_LOCK_SUCCESS);
    return 0;
}

int sm_p9_getlock(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    sm_p9_put8(w, SM_P9_LOCK_TYPE_UNLCK);
    sm_p9_put64(w, r->lock.start);
    sm_p9_put64(w, r->lock.length);
    sm_p9_put32(w, r->lock.proc_id);
    sm_p9_put_str(w, r->lock.client_id, strlen(r->lock.client_id));
    return 0;
}
