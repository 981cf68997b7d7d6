#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "rootfs/ext4.h"
#include "rootfs/ext4_data.h"
#include "util/error.h"
#include "util/test_point.h"

typedef struct writer {
    ext2_filsys fs;
    blk64_t goal;       /* where the next allocation should start */
    sm_ext4_data data;  /* file contents on their way from the spool */
} writer;

const char *sm_ext2_strerror(errcode_t e)
{
    if (e >= ERROR_TABLE_BASE_ext2 && e < ERROR_TABLE_BASE_ext2 + et_ext2_error_table.n_msgs)
        return et_ext2_error_table.msgs[e - ERROR_TABLE_BASE_ext2];
    return strerror((int)e);
}

int sm_ext2_errno(errcode_t e)
{
    switch (e) {
    case EXT2_ET_BLOCK_ALLOC_FAIL:
    case EXT2_ET_INODE_ALLOC_FAIL:
    case EXT2_ET_DIR_NO_SPACE:
    case EXT2_ET_EA_NO_SPACE:
        return ENOSPC;
    default:
        return e > 0 && e < 4096 ? (int)e : EIO;
    }
}

static int ext2_fail(errcode_t e, const char *what)
{
    return sm_fail(sm_ext2_errno(e), "%s: %s", what, sm_ext2_strerror(e));
}

/* ext4 keeps seconds in 32 bits plus two epoch bits beside the nanoseconds. */
static void set_time(uint32_t *lo, uint32_t *extra, int64_t sec, uint32_t nsec)
{
    *lo = (uint32_t)sec;
    *extra = (uint32_t)(((sec - (int32_t)*lo) >> 32) & EXT4_EPOCH_MASK) |
             ((nsec % 1000000000u) << EXT4_EPOCH_BITS);
}

static void fill_inode(struct ext2_inode_large *ei, const sm_node *n)
{
    const sm_inode *in = n->inode;
    memset(ei, 0, sizeof *ei);
    ei->i_mode = (uint16_t)in->mode;
    ei->i_uid = (uint16_t)in->uid;
    ext2fs_set_i_uid_high(*ei, in->uid >> 16);
    ei->i_gid = (uint16_t)in->gid;
    ext2fs_set_i_gid_high(*ei, in->gid >> 16);
    ei->i_links_count = (uint16_t)in->refs;
    ei->i_extra_isize = sizeof *ei - EXT2_GOOD_OLD_INODE_SIZE;
    set_time(&ei->i_mtime, &ei->i_mtime_extra, in->mtime, in->mtime_ns);
    set_time(&ei->i_atime, &ei->i_atime_extra, in->atime, in->atime_ns);
    /* A tar has no ctime; the mtime keeps the image reproducible. */
    set_time(&ei->i_ctime, &ei->i_ctime_extra, in->mtime, in->mtime_ns);
    set_time(&ei->i_crtime, &ei->i_crtime_extra, in->mtime, in->mtime_ns);
}

static uint16_t dir_links(const sm_node *dir)
{
    uint32_t links = 2;
    for (uint32_t b = 0; b < dir->n_buckets; b++)
        for (const sm_node *c = dir->buckets[b]; c; c = c->hnext)
            links += sm_node_is_dir(c);
    return links >= EXT2_LINK_MAX ? 1 : (uint16_t)links; /* dir_nlink: 1 means many */
}

/* Gives the inode `count` contiguous-as-possible blocks under an extent tree. */
static int allocate(writer *w, ext2_ino_t ino, struct ext2_inode_large *ei, blk64_t count)
{
    struct ext2_inode *small = (struct ext2_inode *)ei;
    ext2_extent_handle_t h;
    errcode_t e = ext2fs_extent_open2(w->fs, ino, small, &h); /* sets up the header */
    if (e)
        return ext2_fail(e, "cannot set up an extent tree");
    ext2fs_extent_free(h);
    if (!count)
        return 0;
    e = ext2fs_fallocate(w->fs, EXT2_FALLOCATE_FORCE_INIT, ino, small, w->goal, 0, count);
    if (e)
        return ext2_fail(e, "cannot allocate blocks");
    return 0;
}

typedef int (*run_fn)(writer *w, ext2_ino_t ino, const sm_node *n, const uint8_t *src,
                      blk64_t lblk, blk64_t pblk, blk64_t len);

/* Calls fn for each run of physically contiguous blocks of the inode. */
static int for_each_run(writer *w, ext2_ino_t ino, struct ext2_inode_large *ei,
                        const sm_node *n, const uint8_t *src, run_fn fn)
{
    ext2_extent_handle_t h;
    errcode_t e = ext2fs_extent_open2(w->fs, ino, (struct ext2_inode *)ei, &h);
    if (e)
        return ext2_fail(e, "cannot read an extent tree");
    struct ext2fs_extent ex;
    int err = 0;
    for (e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !e && !err;
         e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex)) {
        if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF))
            continue;
        err = fn(w, ino, n, src, ex.e_lblk, ex.e_pblk, ex.e_len);
        if (ex.e_pblk + ex.e_len > w->goal)
            w->goal = ex.e_pblk + ex.e_len;
    }
    ext2fs_extent_free(h);
    if (!err && e && e != EXT2_ET_EXTENT_NO_NEXT && e != EXT2_ET_EXTENT_NO_DOWN)
        err = ext2_fail(e, "cannot read an extent tree");
    return err;
}

static int copy_run(writer *w, ext2_ino_t ino, const sm_node *n, const uint8_t *src,
                    blk64_t lblk, blk64_t pblk, blk64_t len)
{
    (void)ino, (void)src;
    return sm_ext4_data_copy(&w->data, n->inode, lblk, pblk, len);
}

static int dir_run(writer *w, ext2_ino_t ino, const sm_node *n, const uint8_t *src,
                   blk64_t lblk, blk64_t pblk, blk64_t len)
{
    (void)n;
    for (blk64_t i = 0; i < len; i++) {
        errcode_t e = ext2fs_write_dir_block4(w->fs, pblk + i,
                                              (void *)(src + (lblk + i) * SM_EXT4_BLOCK_SIZE), 0,
                                              ino);
        if (e)
            return ext2_fail(e, "cannot write a directory block");
    }
    return 0;
}

static int raw_run(writer *w, ext2_ino_t ino, const sm_node *n, const uint8_t *src,
                   blk64_t lblk, blk64_t pblk, blk64_t len)
{
    (void)ino, (void)n, (void)lblk;
    errcode_t e = io_channel_write_blk64(w->fs->io, pblk, (int)len, src);
    return e ? ext2_fail(e, "cannot write a symlink block") : 0;
}

static int put_inode(writer *w, ext2_ino_t ino, struct ext2_inode_large *ei)
{
    errcode_t e = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)ei, sizeof *ei);
    return e ? ext2_fail(e, "cannot write an inode") : 0;
}

static int write_dir(writer *w, ext2_ino_t ino, const sm_node *n, struct ext2_inode_large *ei)
{
    bool csum = ext2fs_has_feature_metadata_csum(w->fs->super);
    uint64_t nblocks;
    int err = sm_ext4_dir_blocks(NULL, n, csum, NULL, &nblocks);
    uint8_t *blocks = err ? NULL : calloc(nblocks, SM_EXT4_BLOCK_SIZE);
    if (!err && !blocks)
        err = sm_fail(ENOMEM, "out of memory for a directory");
    if (!err)
        err = sm_ext4_dir_blocks(w->fs, n, csum, blocks, &nblocks);
    ei->i_links_count = dir_links(n);
    if (!err)
        err = allocate(w, ino, ei, nblocks);
    if (!err) {
        ext2fs_inode_size_set(w->fs, (struct ext2_inode *)ei, nblocks * SM_EXT4_BLOCK_SIZE);
        err = put_inode(w, ino, ei); /* the block checksums need it on disk */
    }
    if (!err)
        err = for_each_run(w, ino, ei, n, blocks, dir_run);
    free(blocks);
    return err;
}

static int write_file(writer *w, ext2_ino_t ino, const sm_node *n, struct ext2_inode_large *ei)
{
    uint64_t size = n->inode->size;
    int err = allocate(w, ino, ei, (size + SM_EXT4_BLOCK_SIZE - 1) / SM_EXT4_BLOCK_SIZE);
    if (!err && ext2fs_inode_size_set(w->fs, (struct ext2_inode *)ei, size))
        err = sm_fail(EFBIG, "file too large for ext4");
    if (!err)
        err = for_each_run(w, ino, ei, n, NULL, copy_run);
    return err ? err : put_inode(w, ino, ei);
}

static int write_symlink(writer *w, ext2_ino_t ino, const sm_node *n,
                         struct ext2_inode_large *ei)
{
    const char *target = n->inode->target;
    size_t len = strlen(target);
    ei->i_size = (uint32_t)len;
    if (len < sizeof ei->i_block) { /* a fast symlink lives in the inode */
        memcpy(ei->i_block, target, len);
        return put_inode(w, ino, ei);
    }
    uint8_t block[SM_EXT4_BLOCK_SIZE] = {0};
    memcpy(block, target, len);
    int err = allocate(w, ino, ei, 1);
    if (!err)
        err = for_each_run(w, ino, ei, n, block, raw_run);
    return err ? err : put_inode(w, ino, ei);
}

static int write_special(writer *w, ext2_ino_t ino, const sm_node *n,
                         struct ext2_inode_large *ei)
{
    const sm_inode *in = n->inode;
    if (S_ISCHR(in->mode) || S_ISBLK(in->mode)) {
        unsigned ma = major(in->rdev), mi = minor(in->rdev);
        if (ma < 256 && mi < 256)
            ei->i_block[0] = ma * 256 + mi; /* the old encoding, as mke2fs writes it */
        else
            ei->i_block[1] = (mi & 0xff) | (ma << 8) | ((mi & ~0xffu) << 12);
    }
    return put_inode(w, ino, ei);
}

static int write_xattrs(writer *w, ext2_ino_t ino, const sm_inode *in)
{
    if (!in->n_xattrs)
        return 0;
    struct ext2_xattr_handle *h;
    errcode_t e = ext2fs_xattrs_open(w->fs, ino, &h);
    if (e)
        return ext2_fail(e, "cannot open extended attributes");
    e = ext2fs_xattrs_read(h);
    for (size_t i = 0; !e && i < in->n_xattrs; i++)
        e = ext2fs_xattr_set(h, in->xattrs[i].name, in->xattrs[i].value, in->xattrs[i].len);
    errcode_t e2 = ext2fs_xattrs_close(&h);
    if (e || e2)
        return ext2_fail(e ? e : e2, "cannot write extended attributes");
    return 0;
}

static int write_one(writer *w, ext2_ino_t ino, const sm_node *n)
{
    if (!S_ISDIR(n->inode->mode) && n->inode->refs >= EXT2_LINK_MAX)
        return sm_fail(EMLINK, "%u hard links to one file, more than ext4 allows",
                       n->inode->refs);
    struct ext2_inode_large ei;
    fill_inode(&ei, n);
    uint32_t mode = n->inode->mode;
    int err;
    if (S_ISDIR(mode))
        err = write_dir(w, ino, n, &ei);
    else if (S_ISREG(mode))
        err = write_file(w, ino, n, &ei);
    else if (S_ISLNK(mode))
        err = write_symlink(w, ino, n, &ei);
    else
        err = write_special(w, ino, n, &ei);
    if (!err)
        err = write_xattrs(w, ino, n->inode);
    if (!err)
        ext2fs_inode_alloc_stats2(w->fs, ino, +1, S_ISDIR(mode));
    return err;
}

int sm_ext4_write_tree(ext2_filsys fs, const sm_ext4_plan *p, const sm_spool *spool)
{
    writer w = {.fs = fs, .goal = 0};
    int err = sm_ext4_data_open(&w.data, fs, spool);
    for (uint32_t ino = 0; !err && ino < p->n_ino; ino++) {
        if (ino == p->n_ino / 2)
            sm_test_point("ext4"); /* half the image written */
        const sm_node *n = p->by_ino[ino];
        if (!n)
            continue;
        err = write_one(&w, ino, n);
        if (err)
            sm_fail_context(err, "writing '%s'", n->name);
    }
    return sm_ext4_data_close(&w.data, err);
}
