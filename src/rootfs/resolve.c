#include "rootfs/resolve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/delta.h"
#include "util/error.h"

/* Linux's own limit on symlinks followed in one lookup. */
#define MAX_SYMLINKS 40

int sm_path_clean(const char *name, char *out, size_t out_len)
{
    size_t n = 0;
    for (const char *p = name; *p;) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '.')) {
            /* nothing */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (n == 0)
                return sm_fail(EINVAL, "'%.200s' climbs out of the root filesystem with '..'", name);
            while (n > 0 && out[n - 1] != '/')
                n--;
            if (n > 0)
                n--; /* the separator before the dropped component */
        } else {
            if (n + (n > 0) + len + 1 > out_len)
                return sm_fail(ENAMETOOLONG, "path '%.200s...' is too long", name);
            if (n > 0)
                out[n++] = '/';
            memcpy(out + n, p, len);
            n += len;
        }
        p = end;
    }
    out[n] = '\0';
    return 0;
}

static int make_dir(sm_tree *t, sm_node *dir, const char *name, size_t len, unsigned layer,
                    sm_node **out)
{
    sm_inode *in = sm_inode_new(S_IFDIR | 0755);
    if (!in)
        return sm_fail(ENOMEM, "out of memory for the file tree");
    /* Over a lower image the directory may be there already, below. */
    int err = t->delta ? sm_delta_implicit_dir(t, dir, name, len, in) : 0;
    if (!err)
        err = sm_node_add(t, dir, name, len, in, out);
    if (err) {
        in->refs = 1;
        sm_inode_put(in);
        return err;
    }
    (*out)->layer = layer;
    return 0;
}

static bool only_slashes(const char *p)
{
    while (*p == '/')
        p++;
    return *p == '\0';
}

static int walk(sm_tree *t, sm_node *cur, const char *path, unsigned flags, unsigned layer,
                int *budget, sm_node **out)
{
    if (*path == '/')
        cur = t->root;
    for (const char *p = path; !only_slashes(p);) {
        while (*p == '/')
            p++;
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        bool last = only_slashes(end);
        if (!sm_node_is_dir(cur))
            return sm_fail(ENOTDIR, "'%.*s' lies below something that is not a directory",
                           (int)len, p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (cur->parent)
                cur = cur->parent;
        } else if (!(len == 1 && p[0] == '.')) {
            sm_node *child = sm_node_lookup(cur, p, len);
            int err = 0;
            if (!child && !(flags & SM_WALK_CREATE))
                return sm_fail(ENOENT, "'%.*s' does not exist", (int)len, p);
            if (!child)
                err = make_dir(t, cur, p, len, layer, &child);
            else if (S_ISLNK(child->inode->mode) && (!last || (flags & SM_WALK_FOLLOW_LAST))) {
                if (--*budget < 0)
                    return sm_fail(ELOOP, "too many levels of symbolic links at '%.*s'",
                                   (int)len, p);
                err = walk(t, cur, child->inode->target, flags | SM_WALK_FOLLOW_LAST, layer,
                           budget, &child);
            }
            if (err)
                return err;
            cur = child;
        }
        p = end;
    }
    *out = cur;
    return 0;
}

int sm_tree_walk(sm_tree *t, sm_node *dir, const char *path, unsigned flags, unsigned layer,
                 sm_node **out)
{
    int budget = MAX_SYMLINKS;
    return walk(t, dir, path, flags, layer, &budget, out);
}
