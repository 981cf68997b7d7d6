/* Session messages: version, attach, walk, clunk, flush; extended
 * attributes (none); statfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "devices/p9/p9_int.h"

#define VERSION "9P2000.L"

int sm_p9_version(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    if (r->msize < SM_P9_MIN_MSIZE)
        return -EINVAL;
    /* A new version starts a new session: every fid is gone. */
    sm_p9_fid_clear(&s->fids);
    s->msize = r->msize < SM_P9_MAX_MSIZE ? r->msize : SM_P9_MAX_MSIZE;
    const char *v = strcmp(r->name, VERSION) == 0 ? VERSION : "unknown";
    sm_p9_put32(w, s->msize);
    sm_p9_put_str(w, v, strlen(v));
    return 0;
}

static int root_qid(sm_p9_server *s, sm_p9_qid *q)
{
    struct stat st;
    int err = s->file_name ? sm_p9_vroot_stat(s, &st) : sm_p9_stat(s->root_fd, &st);
    if (!err)
        *q = sm_p9_qid_of(s, &st);
    return err;
}

int sm_p9_attach(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_qid q;
    int err = root_qid(s, &q);
    if (err)
        return err;
    if (r->fid2 != SM_P9_NOFID)
        return -EOPNOTSUPP;   /* no authentication: there is no afid */
    if ((err = sm_p9_fid_room(&s->fids, NULL, s->file_name ? 0 : 1)) != 0)
        return err;
    int fd = -1;
    if (!s->file_name && (fd = dup(s->root_fd)) < 0)
        return -errno;
    sm_p9_fid *f = sm_p9_fid_add(&s->fids, r->fid, &err);
    if (f)
        err = sm_p9_fid_set(&s->fids, f, fd, -1, NULL);
    if (err) {
        if (f)
            sm_p9_fid_remove(&s->fids, r->fid);
        if (fd >= 0)
            close(fd);
        return err;
    }
    f->kind = s->file_name ? SM_P9_FID_VROOT : SM_P9_FID_NODE;
    /* Linux attaches once per user with access=client: n_uname is the
     * uid whose files this fid's creations are. */
    f->uid = r->n_uname;
    sm_p9_put_qid(w, &q);
    return 0;
}

/* A walk in progress: its own fds (dups), so a failure anywhere drops
 * them without touching the fid it started from. */
typedef struct walk_pos {
    sm_p9_fid_kind kind;
    int fd, parent;
    const char *name;
} walk_pos;

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

static int start_pos(const sm_p9_fid *f, walk_pos *p)
{
    *p = (walk_pos){f->kind, -1, -1, f->name};
    if (f->fd >= 0 && (p->fd = dup(f->fd)) < 0)
        return -errno;
    if (f->parent_fd >= 0 && (p->parent = dup(f->parent_fd)) < 0) {
        close_fd(p->fd);
        return -errno;
    }
    return 0;
}

/* One element. From the synthetic root only the shared file is found,
 * and it gets no parent, so it can be neither removed nor renamed. */
static int step(sm_p9_server *s, walk_pos *p, const char *name, sm_p9_qid *q)
{
    if (!sm_p9_name_ok(name))
        return -EINVAL;
    bool vroot = p->kind == SM_P9_FID_VROOT;
    if (vroot && strcmp(name, s->file_name) != 0)
        return -ENOENT;
    int fd = sm_p9_open_beneath(vroot ? s->root_fd : p->fd, name, O_PATH, 0);
    if (fd < 0)
        return fd;
    struct stat st;
    int err = sm_p9_stat(fd, &st);
    if (err) {
        close(fd);
        return err;
    }
    *q = sm_p9_qid_of(s, &st);
    close_fd(p->parent);
    if (vroot) {
        close_fd(p->fd);
        *p = (walk_pos){SM_P9_FID_NODE, fd, -1, NULL};
    } else {
        *p = (walk_pos){SM_P9_FID_NODE, fd, p->fd, name};
    }
    return 0;
}

/* Hand the walk's position to fid `id`: the walked fid itself, or a new one. */
static int settle(sm_p9_server *s, sm_p9_fid *from, uint32_t id, walk_pos *p)
{
    char *name = p->name ? strdup(p->name) : NULL;
    if (p->name && !name)
        return -ENOMEM;
    int err = 0;
    sm_p9_fid *to = id == from->id ? from : sm_p9_fid_add(&s->fids, id, &err);
    if (to)
        err = sm_p9_fid_set(&s->fids, to, p->fd, p->parent, name);
    if (err) {
        if (to && to != from)
            sm_p9_fid_remove(&s->fids, id);
        free(name);
        return err;
    }
    to->kind = p->kind;
    to->uid = from->uid;
    return 0;
}

int sm_p9_walk(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    if (r->fid2 != r->fid && sm_p9_fid_get(&s->fids, r->fid2))
        return -EBADF;
    /* An open fid keeps its inode: it may be cloned, not moved. */
    if (r->fid2 == r->fid && (f->opened || f->ofd >= 0) && r->nwname)
        return -EBUSY;
    walk_pos p;
    if ((err = start_pos(f, &p)) != 0)
        return err;
    sm_p9_qid q[SM_P9_MAX_WALK];
    unsigned n = 0;
    for (; n < r->nwname; n++)
        if ((err = step(s, &p, r->wname[n], &q[n])) != 0)
            break;
    if (n == r->nwname)
        err = settle(s, f, r->fid2, &p);
    if (err || n < r->nwname) {
        close_fd(p.fd);
        close_fd(p.parent);
    }
    /* Only a failure of the first element is an error; after that the
     * reply says how far it got, and newfid is not made. */
    if (err && (n == 0 || n == r->nwname))
        return err;
    sm_p9_put16(w, (uint16_t)n);
    for (unsigned i = 0; i < n; i++)
        sm_p9_put_qid(w, &q[i]);
    return 0;
}

int sm_p9_clunk(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    if (!sm_p9_fid_get(&s->fids, r->fid))
        return -EBADF;
    sm_p9_fid_remove(&s->fids, r->fid);
    return 0;
}

int sm_p9_flush(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    /* Requests are answered in order, before the next is read: by the
     * time a Tflush arrives, the request it names has its reply. */
    (void)s, (void)r, (void)w;
    return 0;
}

int sm_p9_xattrwalk(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    if (*r->name)
        return -ENODATA;
    /* The list of attribute names: empty. */
    sm_p9_fid *x = sm_p9_fid_add(&s->fids, r->fid2, &err);
    if (!x)
        return err;
    x->kind = SM_P9_FID_XATTR;
    sm_p9_put64(w, 0);
    return 0;
}

int sm_p9_xattrcreate(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    (void)w;
    sm_p9_fid *f;
    int err = sm_p9_node(s, r->fid, &f);
    return err ? err : s->read_only ? -EROFS : -EOPNOTSUPP;
}

int sm_p9_statfs(sm_p9_server *s, const sm_p9_req *r, sm_p9_w *w)
{
    sm_p9_fid *f;
    struct statfs st;
    int err = sm_p9_node(s, r->fid, &f);
    if (err)
        return err;
    if (fstatfs(f->fd >= 0 ? f->fd : s->root_fd, &st) < 0)
        return -errno;
    uint64_t fsid;
    memcpy(&fsid, &st.f_fsid, sizeof fsid);
    sm_p9_put32(w, (uint32_t)st.f_type);
    sm_p9_put32(w, (uint32_t)st.f_bsize);
    sm_p9_put64(w, st.f_blocks);
    sm_p9_put64(w, st.f_bfree);
    sm_p9_put64(w, st.f_bavail);
    sm_p9_put64(w, st.f_files);
    sm_p9_put64(w, st.f_ffree);
    sm_p9_put64(w, fsid);
    sm_p9_put32(w, (uint32_t)st.f_namelen);
    return 0;
}
