#include "rootfs/tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static uint32_t name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

sm_inode *sm_inode_new(uint32_t mode)
{
    sm_inode *in = calloc(1, sizeof *in);
    if (in)
        in->mode = mode;
    return in;
}

void sm_inode_clear_xattrs(sm_inode *in)
{
    for (size_t i = 0; i < in->n_xattrs; i++) {
        free(in->xattrs[i].name);
        free(in->xattrs[i].value);
    }
    free(in->xattrs);
    in->xattrs = NULL;
    in->n_xattrs = 0;
}

void sm_inode_put(sm_inode *in)
{
    if (!in || --in->refs > 0)
        return;
    sm_inode_clear_xattrs(in);
    free(in->target);
    free(in);
}

int sm_inode_add_xattr(sm_inode *in, const char *name, const void *value, size_t len)
{
    sm_xattr *v = realloc(in->xattrs, (in->n_xattrs + 1) * sizeof *v);
    if (!v)
        return sm_fail(ENOMEM, "out of memory for extended attributes");
    in->xattrs = v;
    sm_xattr *x = &v[in->n_xattrs];
    x->name = strdup(name);
    x->value = malloc(len ? len : 1);
    if (!x->name || !x->value) {
        free(x->name);
        free(x->value);
        return sm_fail(ENOMEM, "out of memory for extended attributes");
    }
    memcpy(x->value, value, len);
    x->len = len;
    in->n_xattrs++;
    return 0;
}

int sm_tree_init(sm_tree *t)
{
    memset(t, 0, sizeof *t);
    sm_inode *in = sm_inode_new(S_IFDIR | 0755);
    t->root = calloc(1, sizeof *t->root);
    if (!in || !t->root || !(t->root->name = strdup(""))) {
        free(in);
        free(t->root);
        t->root = NULL;
        return sm_fail(ENOMEM, "out of memory for the file tree");
    }
    in->refs = 1;
    t->root->inode = in;
    t->n_nodes = 1;
    return 0;
}

static void node_free(sm_node *n)
{
    for (uint32_t b = 0; b < n->n_buckets; b++) {
        sm_node *c = n->buckets[b];
        while (c) {
            sm_node *next = c->hnext;
            node_free(c);
            c = next;
        }
    }
    free(n->buckets);
    sm_inode_put(n->inode);
    free(n->name);
    free(n);
}

void sm_tree_free(sm_tree *t)
{
    if (t->root)
        node_free(t->root);
    memset(t, 0, sizeof *t);
}

sm_node *sm_node_lookup(const sm_node *dir, const char *name, size_t len)
{
    if (!dir->n_buckets)
        return NULL;
    sm_node *c = dir->buckets[name_hash(name, len) & (dir->n_buckets - 1)];
    for (; c; c = c->hnext)
        if (strncmp(c->name, name, len) == 0 && c->name[len] == '\0')
            return c;
    return NULL;
}

/* Keeps chains short: directories such as /usr/lib hold thousands of names. */
static int grow(sm_node *dir)
{
    uint32_t n = dir->n_buckets ? dir->n_buckets * 2 : 8;
    sm_node **b = calloc(n, sizeof *b);
    if (!b)
        return sm_fail(ENOMEM, "out of memory for the file tree");
    for (uint32_t i = 0; i < dir->n_buckets; i++) {
        sm_node *c = dir->buckets[i];
        while (c) {
            sm_node *next = c->hnext;
            uint32_t h = name_hash(c->name, strlen(c->name)) & (n - 1);
            c->hnext = b[h];
            b[h] = c;
            c = next;
        }
    }
    free(dir->buckets);
    dir->buckets = b;
    dir->n_buckets = n;
    return 0;
}

int sm_node_add(sm_tree *t, sm_node *dir, const char *name, size_t len, sm_inode *in,
                sm_node **out)
{
    if (dir->n_children >= dir->n_buckets) {
        int err = grow(dir);
        if (err)
            return err;
    }
    sm_node *n = calloc(1, sizeof *n);
    if (!n || !(n->name = strndup(name, len))) {
        free(n);
        return sm_fail(ENOMEM, "out of memory for the file tree");
    }
    n->parent = dir;
    n->inode = in;
    in->refs++;
    uint32_t h = name_hash(name, len) & (dir->n_buckets - 1);
    n->hnext = dir->buckets[h];
    dir->buckets[h] = n;
    dir->n_children++;
    t->n_nodes++;
    *out = n;
    return 0;
}

static uint64_t count_nodes(const sm_node *n)
{
    uint64_t c = 1;
    for (uint32_t b = 0; b < n->n_buckets; b++)
        for (const sm_node *k = n->buckets[b]; k; k = k->hnext)
            c += count_nodes(k);
    return c;
}

void sm_node_remove(sm_tree *t, sm_node *n)
{
    sm_node *dir = n->parent;
    if (!dir)
        return; /* the root stays */
    sm_node **p = &dir->buckets[name_hash(n->name, strlen(n->name)) & (dir->n_buckets - 1)];
    while (*p != n)
        p = &(*p)->hnext;
    *p = n->hnext;
    dir->n_children--;
    t->n_nodes -= count_nodes(n);
    node_free(n);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(sm_node *const *)a)->name, (*(sm_node *const *)b)->name);
}

int sm_node_sorted_children(const sm_node *dir, sm_node ***out)
{
    sm_node **v = malloc((dir->n_children ? dir->n_children : 1) * sizeof *v);
    if (!v)
        return sm_fail(ENOMEM, "out of memory for the file tree");
    size_t i = 0;
    for (uint32_t b = 0; b < dir->n_buckets; b++)
        for (sm_node *c = dir->buckets[b]; c; c = c->hnext)
            v[i++] = c;
    qsort(v, i, sizeof *v, by_name);
    *out = v;
    return 0;
}
