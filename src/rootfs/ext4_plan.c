#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/ext4.h"
#include "util/error.h"

/* Room for xattrs inside a 256-byte inode, after the 32-byte extra fields
 * and the in-inode header; more spills into one block. */
#define INODE_XATTR_ROOM 90

typedef struct queue {
    sm_node **v;
    size_t len, cap;
} queue;

static int push(queue *q, sm_node *n)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        sm_node **v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return sm_fail(ENOMEM, "out of memory planning the image");
        q->v = v, q->cap = cap;
    }
    q->v[q->len++] = n;
    return 0;
}

static uint64_t xattr_blocks(const sm_inode *in)
{
    size_t room = 0;
    for (size_t i = 0; i < in->n_xattrs; i++)
        room += 16 + ((strlen(in->xattrs[i].name) + 3) & ~3u) + ((in->xattrs[i].len + 3) & ~3u);
    return room > INODE_XATTR_ROOM ? 1 : 0;
}

/* Extents in an inode before the tree needs blocks of its own, extents
 * one of them holds, and blocks one extent covers. */
#define INODE_EXTENTS 4
#define BLOCK_EXTENTS ((SM_EXT4_BLOCK_SIZE - 12) / 12)
#define EXTENT_BLOCKS 32768u

/* Blocks of a tree over `blocks` contiguous blocks, generously: a leaf
 * split keeps half of it. */
static uint64_t tree_blocks(uint64_t blocks)
{
    uint64_t extents = (blocks + EXTENT_BLOCKS - 1) / EXTENT_BLOCKS;
    return extents > INODE_EXTENTS ? 2 * (extents / BLOCK_EXTENTS + 1) : 0;
}

/* Metadata blocks: a file's bytes are in the data region already. */
static int blocks_of(const sm_node *n, uint64_t *out)
{
    const sm_inode *in = n->inode;
    uint64_t b = xattr_blocks(in);
    if (S_ISREG(in->mode)) {
        b += tree_blocks((in->size + SM_EXT4_BLOCK_SIZE - 1) / SM_EXT4_BLOCK_SIZE);
    } else if (S_ISLNK(in->mode) && in->size >= sizeof(((struct ext2_inode *)0)->i_block)) {
        b += 1;
    } else if (S_ISDIR(in->mode)) {
        uint64_t d;
        int err = sm_ext4_dir_blocks(NULL, n, true, NULL, &d);
        if (err)
            return err;
        b += d + tree_blocks(d);
    }
    *out = b;
    return 0;
}

static int assign(sm_ext4_plan *p, sm_node *n, uint32_t ino)
{
    if (ino >= p->n_ino) {
        uint32_t cap = p->n_ino ? p->n_ino * 2 : 1024;
        while (cap <= ino)
            cap *= 2;
        sm_node **v = realloc(p->by_ino, cap * sizeof *v);
        if (!v)
            return sm_fail(ENOMEM, "out of memory planning the image");
        memset(v + p->n_ino, 0, (cap - p->n_ino) * sizeof *v);
        p->by_ino = v, p->n_ino = cap;
    }
    n->inode->ino = ino;
    p->by_ino[ino] = n;
    if (n->inode->mtime > p->newest)
        p->newest = n->inode->mtime;
    uint64_t b = 0;
    int err = blocks_of(n, &b);
    p->meta_blocks += b;
    return err;
}

static int number_children(sm_ext4_plan *p, queue *q, sm_node *dir, uint32_t *next)
{
    sm_node **kids;
    int err = sm_node_sorted_children(dir, &kids);
    for (uint32_t i = 0; !err && i < dir->n_children; i++) {
        sm_node *k = kids[i];
        if (!k->inode->ino)
            err = assign(p, k, (*next)++);
        if (!err && sm_node_is_dir(k))
            err = push(q, k);
    }
    free(kids);
    return err;
}

int sm_ext4_plan_make(sm_tree *t, uint32_t first_ino, sm_ext4_plan *p)
{
    memset(p, 0, sizeof *p);
    queue q = {0};
    uint32_t next = first_ino;
    int err = assign(p, t->root, EXT2_ROOT_INO);
    if (!err)
        err = push(&q, t->root);
    for (size_t i = 0; !err && i < q.len; i++)
        err = number_children(p, &q, q.v[i], &next);
    free(q.v);
    if (err) {
        sm_ext4_plan_free(p);
        return err;
    }
    p->n_ino = next;
    return 0;
}

void sm_ext4_plan_free(sm_ext4_plan *p)
{
    free(p->by_ino);
    memset(p, 0, sizeof *p);
}
