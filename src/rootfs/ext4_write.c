#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "rootfs/ext4.h"
#include "util/error.h"
#include "util/test_point.h"

/* The longest run of blocks one initialised extent maps. */
#define EXTENT_MAX 32768u

typedef struct writer {
    ext2_filsys fs;
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

/* Maps blocks [0, count) of the inode to the blocks from `pblk` on (none:
 * an empty extent tree). The blocks are marked in use by the caller; the
 * inode's size is set before, as libext2fs sizes index entries by it. */
static int map(writer *w, ext2_ino_t ino, struct ext2_inode_large *ei, blk64_t pblk,
               blk64_t count)
{
    ext2_extent_handle_t h = NULL;
    errcode_t e = ext2fs_extent_open2(w->fs, ino, (struct ext2_inode *)ei, &h);
    for (blk64_t lblk = 0; !e && lblk < count; lblk += EXTENT_MAX) {
        struct ext2fs_extent ex = {
            .e_pblk = pblk + lblk, .e_lblk = lblk,
            .e_len = (uint32_t)(count - lblk < EXTENT_MAX ? count - lblk : EXTENT_MAX),
        };
        e = ext2fs_extent_insert(h, lblk ? EXT2_EXTENT_INSERT_AFTER : 0, &ex);
    }
    if (!e && count)
        e = ext2fs_iblk_add_blocks(w->fs, (struct ext2_inode *)ei, count);
    if (h)
        ext2fs_extent_free(h);
    return e ? ext2_fail(e, "cannot write an extent tree") : 0;
}

/* `count` blocks of the tail for the inode, mapped. */
static int allocate(writer *w, ext2_ino_t ino, struct ext2_inode_large *ei, blk64_t count,
                    blk64_t *pblk)
{
    int err = sm_ext4_tail_take(w->fs, count, pblk);
    return err ? err : map(w, ino, ei, *pblk, count);
}

static int write_blocks(writer *w, ext2_ino_t ino, blk64_t pblk, blk64_t count,
                        const uint8_t *src, bool dir)
{
    for (blk64_t i = 0; i < count; i++) {
        errcode_t e = dir ? ext2fs_write_dir_block4(w->fs, pblk + i,
                                                    (void *)(src + i * SM_EXT4_BLOCK_SIZE), 0,
                                                    ino)
                          : io_channel_write_blk64(w->fs->io, pblk + i, 1,
                                                   src + i * SM_EXT4_BLOCK_SIZE);
        if (e)
            return ext2_fail(e, dir ? "cannot write a directory block"
                                    : "cannot write a symlink block");
    }
    return 0;
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
    blk64_t pblk = 0;
    if (!err) {
        ext2fs_inode_size_set(w->fs, (struct ext2_inode *)ei, nblocks * SM_EXT4_BLOCK_SIZE);
        err = allocate(w, ino, ei, nblocks, &pblk);
    }
    if (!err)
        err = put_inode(w, ino, ei); /* the block checksums need it on disk */
    if (!err)
        err = write_blocks(w, ino, pblk, nblocks, blocks, true);
    free(blocks);
    return err;
}

/* The file's bytes are in the data region already, zeros left out as
 * holes in the image file: its extents point there, all of its blocks
 * mapped, so that the holes read back as the zeros they stand for. */
static int write_file(writer *w, ext2_ino_t ino, const sm_node *n, struct ext2_inode_large *ei)
{
    uint64_t size = n->inode->size;
    blk64_t count = (size + SM_EXT4_BLOCK_SIZE - 1) / SM_EXT4_BLOCK_SIZE;
    blk64_t pblk = sm_ext4_data_block(n->inode);
    if (ext2fs_inode_size_set(w->fs, (struct ext2_inode *)ei, size))
        return sm_fail(EFBIG, "file too large for ext4");
    if (count)
        ext2fs_block_alloc_stats_range(w->fs, pblk, count, +1);
    int err = map(w, ino, ei, pblk, count);
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
    blk64_t pblk;
    int err = allocate(w, ino, ei, 1, &pblk);
    if (!err)
        err = write_blocks(w, ino, pblk, 1, block, false);
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

int sm_ext4_write_tree(ext2_filsys fs, const sm_ext4_plan *p)
{
    writer w = {.fs = fs};
    int err = 0;
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
    return err;
}
