#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/ext4.h"
#include "util/error.h"

typedef struct packer {
    ext2_filsys fs;             /* NULL when only counting */
    uint8_t *buf;
    uint32_t usable;            /* block size minus the checksum tail */
    uint64_t block;             /* current block */
    uint32_t used;              /* bytes used in the current block */
    struct ext2_dir_entry *last;
} packer;

static int file_type(uint32_t mode)
{
    switch (mode & S_IFMT) {
    case S_IFDIR: return EXT2_FT_DIR;
    case S_IFLNK: return EXT2_FT_SYMLINK;
    case S_IFCHR: return EXT2_FT_CHRDEV;
    case S_IFBLK: return EXT2_FT_BLKDEV;
    case S_IFIFO: return EXT2_FT_FIFO;
    case S_IFSOCK: return EXT2_FT_SOCK;
    default: return EXT2_FT_REG_FILE;
    }
}

/* The last entry of a block owns the block's free space. */
static void close_block(packer *p)
{
    if (p->fs && p->last)
        ext2fs_set_rec_len(p->fs, p->usable - (uint32_t)((uint8_t *)p->last - p->buf -
                                                         p->block * SM_EXT4_BLOCK_SIZE),
                           p->last);
    if (p->fs && p->usable < SM_EXT4_BLOCK_SIZE)
        ext2fs_initialize_dirent_tail(p->fs,
            EXT2_DIRENT_TAIL(p->buf + p->block * SM_EXT4_BLOCK_SIZE, SM_EXT4_BLOCK_SIZE));
}

static int add(packer *p, const char *name, uint32_t ino, uint32_t mode)
{
    size_t len = strlen(name);
    if (len > EXT2_NAME_LEN)
        return sm_fail(ENAMETOOLONG, "file name '%.60s...' is longer than ext4 allows", name);
    uint32_t rec = (uint32_t)EXT2_DIR_REC_LEN(len);
    if (p->used + rec > p->usable) {
        close_block(p);
        p->block++, p->used = 0, p->last = NULL;
    }
    if (p->fs) {
        struct ext2_dir_entry *d =
            (void *)(p->buf + p->block * SM_EXT4_BLOCK_SIZE + p->used);
        d->inode = ino;
        ext2fs_set_rec_len(p->fs, rec, d);
        ext2fs_dirent_set_name_len(d, (int)len);
        ext2fs_dirent_set_file_type(d, file_type(mode));
        memcpy(d->name, name, len);
        p->last = d;
    }
    p->used += rec;
    return 0;
}

int sm_ext4_dir_blocks(ext2_filsys fs, const sm_node *dir, bool csum, uint8_t *buf,
                       uint64_t *nblocks)
{
    packer p = {.fs = fs, .buf = buf,
                .usable = SM_EXT4_BLOCK_SIZE - (csum ? sizeof(struct ext2_dir_entry_tail) : 0)};
    const sm_node *up = dir->parent ? dir->parent : dir;
    int err = add(&p, ".", dir->inode->ino, S_IFDIR);
    if (!err)
        err = add(&p, "..", up->inode->ino, S_IFDIR);
    sm_node **kids = NULL;
    if (!err)
        err = sm_node_sorted_children(dir, &kids);
    for (uint32_t i = 0; !err && i < dir->n_children; i++)
        err = add(&p, kids[i]->name, kids[i]->inode->ino, kids[i]->inode->mode);
    free(kids);
    if (err)
        return err;
    close_block(&p);
    *nblocks = p.block + 1;
    return 0;
}
