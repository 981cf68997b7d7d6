#include "rootfs/delta.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/whiteout.h"
#include "util/error.h"

/* Hiding only ever grows: a later layer cannot bring back what an earlier
 * one removed from the lower, so marks are kept as paths and settled once
 * the last layer is in. */
struct sm_delta_mark {
    char *path;     /* "a/b"; "" is the root */
    bool opaque;    /* the contents of path are hidden, not path itself */
};

static int node_path(const sm_node *n, char *buf, size_t len)
{
    if (!n->parent) {
        buf[0] = '\0';
        return 0;
    }
    int err = node_path(n->parent, buf, len);
    size_t used = strlen(buf);
    if (!err && (size_t)snprintf(buf + used, len - used, "%s%s", used ? "/" : "", n->name) >=
                    len - used)
        err = sm_fail(ENAMETOOLONG, "a path in the image is too long");
    return err;
}

static int child_path(const sm_node *dir, const char *name, size_t len, char *buf)
{
    int err = node_path(dir, buf, PATH_MAX);
    size_t used = strlen(buf);
    if (!err && (size_t)snprintf(buf + used, PATH_MAX - used, "%s%.*s", used ? "/" : "",
                                 (int)len, name) >= PATH_MAX - used)
        err = sm_fail(ENAMETOOLONG, "a path in the image is too long");
    return err;
}

/* Whether `anc` is a proper ancestor of `path` ("" is everyone's). */
static bool below(const char *anc, const char *path)
{
    size_t n = strlen(anc);
    if (n == 0)
        return path[0] != '\0';
    return !strncmp(anc, path, n) && path[n] == '/';
}

static bool hidden(const sm_delta *d, const char *path)
{
    for (size_t i = 0; i < d->n_marks; i++) {
        const sm_delta_mark *m = &d->marks[i];
        if (below(m->path, path) || (!m->opaque && !strcmp(m->path, path)))
            return true;
    }
    return false;
}

static void take_attrs(sm_inode *in, sm_inode *from)
{
    in->mode = from->mode;
    in->uid = from->uid;
    in->gid = from->gid;
    in->mtime = from->mtime;
    in->mtime_ns = from->mtime_ns;
    in->atime = from->atime;
    in->atime_ns = from->atime_ns;
    sm_inode_clear_xattrs(in);
    in->xattrs = from->xattrs;
    in->n_xattrs = from->n_xattrs;
    from->xattrs = NULL;
    from->n_xattrs = 0;
}

int sm_delta_begin(sm_tree *t, sm_delta *d, sm_lower *lower)
{
    memset(d, 0, sizeof *d);
    d->lower = lower;
    sm_inode root = {0};
    int err = sm_lower_stat(lower, "", &root);
    if (!err)
        take_attrs(t->root->inode, &root);
    sm_inode_clear_xattrs(&root);
    t->delta = d;
    return err;
}

void sm_delta_free(sm_delta *d)
{
    for (size_t i = 0; i < d->n_marks; i++)
        free(d->marks[i].path);
    free(d->marks);
    memset(d, 0, sizeof *d);
}

/* A directory of the lower at `path`, with its attributes in *in: 1; not
 * there (or hidden): 0; something a delta cannot build on: an error. */
static int lower_dir(sm_delta *d, const char *path, sm_inode *in)
{
    if (hidden(d, path))
        return 0;
    int err = sm_lower_stat(d->lower, path, in);
    if (err == -ENOENT)
        return 0;
    if (err == -ENOTDIR)
        return sm_fail(ENOTDIR, "'%s' lies below a non-directory of the parent image", path);
    if (!err && !S_ISDIR(in->mode)) {
        sm_inode_clear_xattrs(in);
        return sm_fail(ENOTDIR, "'%s' is %s in the parent image", path,
                       S_ISLNK(in->mode) ? "a symlink" : "not a directory");
    }
    return err ? err : 1;
}

int sm_delta_implicit_dir(sm_tree *t, const sm_node *parent, const char *name, size_t len,
                          sm_inode *in)
{
    char path[PATH_MAX];
    sm_inode low = {0};
    int err = child_path(parent, name, len, path);
    if (!err)
        err = lower_dir(t->delta, path, &low);
    if (err > 0)
        take_attrs(in, &low);
    return err < 0 ? err : 0;
}

int sm_delta_hide(sm_tree *t, const sm_node *dir, const char *name)
{
    sm_delta *d = t->delta;
    char path[PATH_MAX];
    int err = name ? child_path(dir, name, strlen(name), path) : node_path(dir, path, sizeof path);
    if (err)
        return err;
    if (d->n_marks == d->cap_marks) {
        size_t cap = d->cap_marks ? 2 * d->cap_marks : 16;
        sm_delta_mark *m = realloc(d->marks, cap * sizeof *m);
        if (!m)
            return sm_fail(ENOMEM, "out of memory");
        d->marks = m;
        d->cap_marks = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return sm_fail(ENOMEM, "out of memory");
    d->marks[d->n_marks++] = (sm_delta_mark){copy, name == NULL};
    return 0;
}

static int add_dir(sm_tree *t, sm_node *parent, const char *name, size_t len, sm_node **out)
{
    sm_inode *in = sm_inode_new(S_IFDIR | 0755);
    if (!in)
        return sm_fail(ENOMEM, "out of memory for the file tree");
    int err = sm_delta_implicit_dir(t, parent, name, len, in);
    if (!err)
        err = sm_node_add(t, parent, name, len, in, out);
    if (err) {
        in->refs = 1;
        sm_inode_put(in);
        return err;
    }
    (*out)->layer = 0; /* the lower's, as a full build's would be */
    return 0;
}

int sm_delta_whiteout_below(sm_tree *t, const char *dir_path, const char *base,
                            unsigned layer)
{
    sm_inode low = {0};
    int err = lower_dir(t->delta, dir_path, &low);
    sm_inode_clear_xattrs(&low);
    if (err <= 0)
        return err; /* nothing there to hide */
    err = 0;
    sm_node *cur = t->root;
    for (const char *p = dir_path; *p && !err;) {
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        sm_node *child = sm_node_lookup(cur, p, len);
        if (child && !sm_node_is_dir(child))
            return sm_fail(ENOTDIR, "a whiteout below '%.*s', which this image made a "
                           "non-directory", (int)len, p);
        if (!child)
            err = add_dir(t, cur, p, len, &child);
        cur = child;
        p = *end ? end + 1 : end;
    }
    return err ? err : sm_whiteout_apply(t, cur, base, layer);
}

/* The node at `path` (no symlink followed); *parent gets its directory
 * when that exists. */
static sm_node *find(sm_tree *t, const char *path, sm_node **parent)
{
    sm_node *cur = t->root;
    *parent = NULL;
    for (const char *p = path; *p;) {
        const char *end = strchrnul(p, '/');
        if (!sm_node_is_dir(cur))
            return NULL;
        sm_node *next = sm_node_lookup(cur, p, (size_t)(end - p));
        if (!*end)
            *parent = cur;
        if (!next)
            return NULL;
        cur = next;
        p = *end ? end + 1 : end;
    }
    return cur;
}

static bool subsumed(const sm_delta *d, const sm_delta_mark *m)
{
    for (size_t i = 0; i < d->n_marks; i++)
        if (below(d->marks[i].path, m->path))
            return true;
    return false;
}

static int set_opaque(sm_inode *in)
{
    for (size_t i = 0; i < in->n_xattrs; i++)
        if (!strcmp(in->xattrs[i].name, SM_OVERLAY_OPAQUE_XATTR))
            return 0;
    return sm_inode_add_xattr(in, SM_OVERLAY_OPAQUE_XATTR, "y", 1);
}

static int add_whiteout(sm_tree *t, sm_node *dir, const char *path)
{
    sm_inode *in = sm_inode_new(S_IFCHR); /* 0:0, mode 0, as overlayfs makes them */
    if (!in)
        return sm_fail(ENOMEM, "out of memory for the file tree");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    sm_node *n;
    int err = sm_node_add(t, dir, base, strlen(base), in, &n);
    if (err)
        free(in);
    return err;
}

/* Where the name still lies in the delta, hidden below something the
 * delta replaced, or under a parent a later layer removed, it needs no
 * mark of its own. */
static int settle(sm_tree *t, const sm_delta_mark *m)
{
    sm_delta *d = t->delta;
    sm_node *parent, *n = find(t, m->path, &parent);
    if (!*m->path)
        return m->opaque ? sm_fail(EINVAL, "an opaque marker at the image's root") : 0;
    if (n)
        return sm_node_is_dir(n) ? set_opaque(n->inode) : 0;
    if (m->opaque || !parent || !sm_node_is_dir(parent))
        return 0;
    sm_inode low = {0};
    int err = sm_lower_stat(d->lower, m->path, &low);
    sm_inode_clear_xattrs(&low);
    if (err == -ENOENT || err == -ENOTDIR)
        return 0;
    return err ? err : add_whiteout(t, parent, m->path);
}

static int by_path(const void *a, const void *b)
{
    const sm_delta_mark *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (int)x->opaque - (int)y->opaque;
}

int sm_delta_finish(sm_tree *t)
{
    sm_delta *d = t->delta;
    int err = 0;
    qsort(d->marks, d->n_marks, sizeof *d->marks, by_path);
    for (size_t i = 0; !err && i < d->n_marks; i++) {
        bool dup = i > 0 && !by_path(&d->marks[i - 1], &d->marks[i]);
        if (!dup && !subsumed(d, &d->marks[i]))
            err = settle(t, &d->marks[i]);
    }
    return err;
}
