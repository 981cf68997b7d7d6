#include "rootfs/layer_apply.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/delta.h"
#include "rootfs/resolve.h"
#include "rootfs/whiteout.h"
#include "util/error.h"

typedef struct merger {
    sm_tree *tree;
    unsigned layer;
} merger;

/* Every directory on the way to something this layer adds counts as entered
 * by it, so that an opaque marker of the same layer keeps it. */
static void stamp_path(sm_node *n, unsigned layer)
{
    for (; n; n = n->parent)
        n->layer = layer;
}

static int add_node(merger *m, sm_node *dir, const char *base, sm_inode *in)
{
    sm_node *n;
    int err = sm_node_add(m->tree, dir, base, strlen(base), in, &n);
    if (!err)
        n->layer = m->layer;
    return err;
}

/* A directory entry over a directory: the new metadata, the old contents. */
static void take_meta(sm_inode *to, sm_inode *from)
{
    to->mode = (to->mode & S_IFMT) | (from->mode & 07777);
    to->uid = from->uid, to->gid = from->gid;
    to->mtime = from->mtime, to->mtime_ns = from->mtime_ns;
    to->atime = from->atime, to->atime_ns = from->atime_ns;
    sm_inode_clear_xattrs(to);
    to->xattrs = from->xattrs, to->n_xattrs = from->n_xattrs;
    from->xattrs = NULL, from->n_xattrs = 0;
}

/* A hard link names an earlier entry of this layer or a file of a lower one;
 * the name is resolved inside the tree like any other. */
static int apply_hardlink(merger *m, sm_node *dir, const char *base, sm_node *old,
                          const char *link)
{
    char path[PATH_MAX];
    sm_node *target;
    int err = sm_path_clean(link, path, sizeof path);
    if (err)
        return sm_fail_context(err, "hard link target");
    if (!*path || sm_tree_walk(m->tree, m->tree->root, path, 0, m->layer, &target) < 0)
        return sm_fail(ENOENT, "hard link to '%.200s', which does not exist", link);
    if (sm_node_is_dir(target))
        return sm_fail(EINVAL, "hard link to '%.200s', which is a directory", link);
    if (old == target || (old && old->inode == target->inode)) {
        old->layer = m->layer;
        return 0;
    }
    sm_inode *in = target->inode;
    in->refs++; /* `old` may hold the target's last other name */
    if (old)
        sm_node_remove(m->tree, old);
    err = add_node(m, dir, base, in);
    sm_inode_put(in);
    return err;
}

/* Puts the entry's inode at dir/base, in place of `old`. */
static int apply_inode(merger *m, sm_layer_entry *x, sm_node *dir, const char *base,
                       sm_node *old)
{
    if (x->kind == SM_ENTRY_DIR && old && sm_node_is_dir(old)) {
        old->layer = m->layer; /* directories merge with the one below */
        take_meta(old->inode, x->inode);
        return 0;
    }
    if (old)
        sm_node_remove(m->tree, old);
    int err = add_node(m, dir, base, x->inode);
    if (!err)
        x->inode = NULL; /* the tree has it now */
    return err;
}

static int apply_entry(merger *m, sm_layer_entry *x)
{
    if (x->kind == SM_ENTRY_ROOT) {
        take_meta(m->tree->root->inode, x->inode);
        return 0;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", x->path);
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    sm_node *dir = m->tree->root;
    bool whiteout = x->kind == SM_ENTRY_WHITEOUT;
    if (slash) {
        *slash = '\0';
        unsigned flags = SM_WALK_FOLLOW_LAST | (whiteout ? 0 : SM_WALK_CREATE);
        int err = sm_tree_walk(m->tree, dir, path, flags, m->layer, &dir);
        if (err && whiteout) {
            sm_clear_error(); /* nothing there to hide, unless in a lower image */
            return m->tree->delta ? sm_delta_whiteout_below(m->tree, path, base, m->layer) : 0;
        }
        if (!err && !sm_node_is_dir(dir))
            err = sm_fail(ENOTDIR, "'%s' is not a directory", path);
        if (err)
            return err;
    }
    if (whiteout)
        return sm_whiteout_apply(m->tree, dir, base, m->layer);
    stamp_path(dir, m->layer);
    if (x->kind == SM_ENTRY_SKIP)
        return 0;
    sm_node *old = sm_node_lookup(dir, base, strlen(base));
    if (x->kind == SM_ENTRY_LINK)
        return apply_hardlink(m, dir, base, old, x->link);
    return apply_inode(m, x, dir, base, old);
}

int sm_layer_merge(sm_tree *t, sm_layer_entries *e, unsigned layer)
{
    merger m = {.tree = t, .layer = layer};
    for (size_t i = 0; i < e->n; i++) {
        int err = apply_entry(&m, &e->v[i]);
        if (err)
            return sm_fail_context(err, "entry '%.200s'", e->v[i].name);
    }
    if (e->err)
        return sm_fail(-e->err, "%s", e->why ? e->why : "cannot read the layer");
    return 0;
}

int sm_layer_apply(sm_tree *t, sm_data_region *data, const char *path, unsigned layer,
                   sm_layer_budget *budget)
{
    size_t lane;
    int err = sm_data_region_add_lanes(data, (uint64_t[]){0}, 1, &lane);
    if (err)
        return err;
    sm_data_writer w;
    sm_layer_entries e;
    if ((err = sm_data_writer_init(&w, data, lane)) == 0)
        sm_layer_decode(path, NULL, &w, budget, &e);
    sm_data_writer_done(&w);
    if (err)
        return err;
    err = sm_layer_merge(t, &e, layer);
    sm_layer_entries_free(&e);
    return err;
}
