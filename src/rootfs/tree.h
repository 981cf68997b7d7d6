/* The merged root filesystem as an in-memory tree: layers are applied here,
 * whiteouts included, and the image writer walks the result. Nothing is ever
 * written to a host directory, so no tar entry can reach the host. */
#ifndef SM_ROOTFS_TREE_H
#define SM_ROOTFS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

typedef struct sm_xattr {
    char *name;
    void *value;
    size_t len;
} sm_xattr;

/* What a path points to. Hard links are several nodes sharing one inode. */
typedef struct sm_inode {
    uint32_t mode;              /* type and permission bits, as st_mode */
    uint32_t uid, gid;
    int64_t mtime, atime;
    uint32_t mtime_ns, atime_ns;
    uint64_t rdev;              /* devices: as makedev() */
    uint64_t size;              /* regular files: bytes; symlinks: target length */
    uint64_t data_off;          /* regular files: where the bytes sit in the data region */
    char *target;               /* symlinks */
    sm_xattr *xattrs;
    size_t n_xattrs;
    uint32_t refs;              /* nodes pointing here = link count for non-dirs */
    uint32_t ino;               /* assigned by the image writer */
} sm_inode;

typedef struct sm_node {
    char *name;
    struct sm_node *parent;     /* NULL for the root */
    sm_inode *inode;
    unsigned layer;             /* last layer (1-based) that created or entered it */
    struct sm_node *hnext;      /* chain in the parent's hash table */
    struct sm_node **buckets;   /* directories: children by name */
    uint32_t n_buckets, n_children;
} sm_node;

struct sm_delta;

typedef struct sm_tree {
    sm_node *root;
    uint64_t n_nodes;           /* counts for sizing the image */
    struct sm_delta *delta;     /* set when the layers go over a lower image (delta.h) */
} sm_tree;

int sm_tree_init(sm_tree *t);
void sm_tree_free(sm_tree *t);

sm_inode *sm_inode_new(uint32_t mode);
void sm_inode_put(sm_inode *in);
void sm_inode_clear_xattrs(sm_inode *in);
int sm_inode_add_xattr(sm_inode *in, const char *name, const void *value, size_t len);

sm_node *sm_node_lookup(const sm_node *dir, const char *name, size_t len);
/* Adds a child named name[0..len) pointing at `in` (taking one reference).
 * The name must not exist yet. */
int sm_node_add(sm_tree *t, sm_node *dir, const char *name, size_t len, sm_inode *in,
                sm_node **out);
/* Unlinks a node and everything below it. */
void sm_node_remove(sm_tree *t, sm_node *n);

static inline bool sm_node_is_dir(const sm_node *n)
{
    return S_ISDIR(n->inode->mode);
}

/* Children of a directory in name order; caller frees the array. */
int sm_node_sorted_children(const sm_node *dir, sm_node ***out);

#endif
