/* Directories: listing them and changing their entries. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/p9/p9_int.h"

#define DIRENT_FIXED (SM_P9_QID_SIZE + 8 + 1 + 2)  /* qid offset type name-length */

typedef struct dir_out {
    sm_p9_w *w;
    size_t limit;       /* w->len may not pass this */
    size_t count_at;    /* where Rreaddir's count goes */
} dir_out;

static bool emit(dir_out *o, const sm_p9_qid *q, uint64_t off, uint8_t type, const char *name)
{
    size_t n = strlen(name);
    if (o->w->len + DIRENT_FIXED + n > o->limit)
        return false;
    sm_p9_put_qid(o->w, q);
    sm_p9_put64(o->w, off);
    sm_p9_put8(o->w, type);
    sm_p9_put_str(o->w, name, n);
    return true;
}

/* The synthetic root lists ".", ".." and the shared file at offsets 1-3. */
static int list_vroot(sm_p9_server *s, uint64_t offset, dir_out *o)
{
    struct stat root, file;
    int err = sm_p9_vroot_stat(s, &root);
    if (err)
        return err;
    if (fstatat(s->root_fd, s->file_name, &file, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    sm_p9_qid rq = sm_p9_qid_of(s, &root), fq = sm_p9_qid_of(s, &file);
    const char *names[] = {".", "..", s->file_name};
    for (uint64_t i = offset; i < 3; i++) {
        bool is_file = i == 2;
        if (!emit(o, is_file ? &fq : &rq, i + 1, is_file ? DT_REG : DT_DIR, names[i]))
            break;
    }
    return 0;
}

static uint8_t qtype_of(uint8_t d_type)
{
    return d_type == DT_DIR ? SM_P9_QTDIR : d_type == DT_LNK ? SM_P9_QTSYMLINK : SM_P9_QTFILE;
}

static int list_dir(sm_p9_server *s, const sm_p9_fid *f, uint64_t offset, dir_out *o)
{
    if (offset > INT64_MAX || lseek(f->ofd, (off_t)offset, SEEK_SET) < 0)
        return offset > INT64_MAX ? -EINVAL : -errno;
    struct stat self;
    int err = sm_p9_stat(f->fd, &self);
    if (err)
        return err;
    /* The export's ".." must not show what lies above it. */
    bool at_root = self.st_dev == s->root_dev && self.st_ino == s->root_ino;
    size_t want = o->limit - o->w->len + 64;
    if (want > s->scratch_len)
        want = s->scratch_len;
    ssize_t n = getdents64(f->ofd, s->scratch, want < 512 ? 512 : want);
    if (n < 0)
        return -errno;
    for (ssize_t pos = 0; pos < n;) {
        struct dirent64 *d = (struct dirent64 *)(s->scratch + pos);
        sm_p9_qid q = {.type = qtype_of(d->d_type), .path = d->d_ino};
        if (at_root && strcmp(d->d_name, "..") == 0)
            q = sm_p9_qid_of(s, &self);
        if (!emit(o, &q, (uint64_t)d->d_off, d->d_type, d->d_name))
            break;
        pos += d->d_reclen;
    }
    return 0;
}

int sm_p9_readdir(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    if (!f->opened)
        return -EBADF;
    size_t at = w->len;
    sm_p9_put32(w, 0);
    dir_out o = {.w = w, .count_at = at, .limit = w->cap};
    if (o.limit - w->len > r->count)
        o.limit = w->len + r->count;
    err = f->kind == SM_P9_FID_VROOT ? list_vroot(s, r->offset, &o) : list_dir(s, f, r->offset, &o);
    if (err || w->overflow)
        return err ? err : -ENOBUFS;
    uint32_t count = (uint32_t)(w->len - at - 4);
    for (int i = 0; i < 4; i++)
        w->p[at + i] = (uint8_t)(count >> (8 * i));
    return 0;
}

static int reply_entry_qid(sm_p9_server *s, int dirfd, const char *name, sm_p9_w *w)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    sm_p9_qid q = sm_p9_qid_of(s, &st);
    sm_p9_put_qid(w, &q);
    return 0;
}

int sm_p9_mkdir(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *d;
    int err = sm_p9_dir_for_change(s, r->fid, r->name, &d);
    if (err)
        return err;
    /* Set-gid is kept on directories (inheritance); set-uid never. */
    if (mkdirat(d->fd, r->name, r->mode & 03777) < 0)
        return -errno;
    sm_p9_own(d->fd, r->name, d->uid, r->gid);
    return reply_entry_qid(s, d->fd, r->name, w);
}

int sm_p9_symlink(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *d;
    int err = sm_p9_dir_for_change(s, r->fid, r->name, &d);
    if (err)
        return err;
    /* The target is stored, never followed here: any string is fine. */
    if (symlinkat(r->name2, d->fd, r->name) < 0)
        return -errno;
    sm_p9_own(d->fd, r->name, d->uid, r->gid);
    return reply_entry_qid(s, d->fd, r->name, w);
}

int sm_p9_mknod(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *d;
    int err = sm_p9_dir_for_change(s, r->fid, r->name, &d);
    if (err)
        return err;
    /* No device nodes on the host: FIFOs and sockets only. */
    if (!S_ISFIFO(r->mode) && !S_ISSOCK(r->mode))
        return -EPERM;
    if (mknodat(d->fd, r->name, (r->mode & S_IFMT) | (r->mode & 0777), 0) < 0)
        return -errno;
    sm_p9_own(d->fd, r->name, d->uid, r->gid);
    return reply_entry_qid(s, d->fd, r->name, w);
}

/* Tlink and Trename: fid names an existing node, fid2 the directory that
 * is to hold it under r->name. */
static int node_and_new_dir(sm_p9_server *s, const sm_p9_req *r, sm_p9_fid **d,
                            sm_p9_fid **f, struct stat *st)
{
    int err = sm_p9_dir_for_change(s, r->fid2, r->name, d);
    if (!err)
        err = sm_p9_node(s, r->fid, f);
    if (!err)
        err = sm_p9_located(*f, st);
    return err;
}

int sm_p9_link(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *d, *f;
    struct stat st;
    int err = node_and_new_dir(s, r, &d, &f, &st);
    if (err)
        return err;
    if (S_ISDIR(st.st_mode))
        return -EPERM;
    return linkat(f->parent_fd, f->name, d->fd, r->name, 0) < 0 ? -errno : 0;
}

int sm_p9_unlinkat(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *d;
    int err = sm_p9_dir_for_change(s, r->fid, r->name, &d);
    if (err)
        return err;
    int flags = (r->flags & SM_P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0;
    return unlinkat(d->fd, r->name, flags) < 0 ? -errno : 0;
}

int sm_p9_renameat(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *from, *to;
    int err = sm_p9_dir_for_change(s, r->fid, r->name, &from);
    if (!err)
        err = sm_p9_dir_for_change(s, r->fid2, r->name2, &to);
    if (err)
        return err;
    return renameat(from->fd, r->name, to->fd, r->name2) < 0 ? -errno : 0;
}

int sm_p9_rename(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *d, *f;
    struct stat st;
    int err = node_and_new_dir(s, r, &d, &f, &st);
    if (err)
        return err;
    int parent = dup(d->fd);
    char *name = strdup(r->name);
    if (parent < 0 || !name || renameat(f->parent_fd, f->name, d->fd, r->name) < 0) {
        err = parent < 0 || name ? -errno : -ENOMEM;
        if (parent >= 0)
            close(parent);
        free(name);
        return err;
    }
    sm_p9_fid_move(&s->fids, f, parent, name);
    return 0;
}

int sm_p9_remove(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *f = sm_p9_fid_get(&s->fids, r->fid);
    struct stat st;
    int err = 0;
    if (!f)
        return -EBADF;
    if (f->kind == SM_P9_FID_XATTR)
        err = -EBADF;
    else if (s->read_only)
        err = -EROFS;
    else if ((err = sm_p9_located(f, &st)) == 0 &&
             unlinkat(f->parent_fd, f->name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
        err = -errno;
    /* Tremove clunks the fid whether or not the file went. */
    sm_p9_fid_remove(&s->fids, r->fid);
    return err;
}
