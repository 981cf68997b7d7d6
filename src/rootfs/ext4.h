/* The tree written as an ext4 filesystem with libext2fs, without mounting
 * anything and without root: ownership, modes, devices and xattrs are plain
 * inode fields here. Internal to the image writer's files.
 *
 * The layers' files are in the image file already (data_region.h), so the
 * filesystem is made around them: the superblock and group descriptors in
 * the head before them, every other piece of metadata in a tail after
 * them, and each file's extents pointing at its bytes where they are. */
#ifndef SM_ROOTFS_EXT4_H
#define SM_ROOTFS_EXT4_H

#include <ext2fs/ext2fs.h>
#include <stdint.h>

#include "rootfs/data_region.h"
#include "rootfs/tree.h"

#define SM_EXT4_BLOCK_SIZE 4096u
#define SM_EXT4_INODE_SIZE 256u

/* Inode numbers given out in breadth-first name order, and the space the
 * image's metadata needs. */
typedef struct sm_ext4_plan {
    sm_node **by_ino;   /* first name of each inode number (NULL if unused) */
    uint32_t n_ino;     /* highest inode number + 1 */
    uint64_t meta_blocks;   /* directories, xattr blocks, long symlinks, extent trees */
    int64_t newest;     /* latest mtime: the image's own timestamps */
} sm_ext4_plan;

int sm_ext4_plan_make(sm_tree *t, uint32_t first_ino, sm_ext4_plan *p);
void sm_ext4_plan_free(sm_ext4_plan *p);

/* Directory blocks for `dir`, entries in name order: counts them, and when
 * `fs` is not NULL also fills `buf` (nblocks * block size bytes; checksum
 * tails are laid out, their sums are set when the blocks are written).
 * `csum` says whether the filesystem has metadata_csum. */
int sm_ext4_dir_blocks(ext2_filsys fs, const sm_node *dir, bool csum, uint8_t *buf,
                       uint64_t *nblocks);

/* A sentence for a libext2fs error code, and the errno it stands for. */
const char *sm_ext2_strerror(errcode_t e);
int sm_ext2_errno(errcode_t e);

/* The tail: the groups' bitmaps and inode tables from the first block
 * after the data region, then blocks handed out in order to whatever
 * metadata asks (libext2fs's own asks too), so nothing lands before it. */
typedef struct sm_ext4_tail {
    blk64_t next, end;  /* the blocks not handed out yet */
} sm_ext4_tail;

/* Lays the group tables out from `at` and takes over the allocator. */
int sm_ext4_tail_init(ext2_filsys fs, sm_ext4_tail *t, blk64_t at);
/* `n` contiguous blocks of the tail, marked in use. */
int sm_ext4_tail_take(ext2_filsys fs, blk64_t n, blk64_t *first);

/* The first block of a regular file's bytes in the data region. */
blk64_t sm_ext4_data_block(const sm_inode *in);
/* Gives the disk of the data region's free blocks (files a later layer
 * deleted or replaced) back to the host; [SM_DATA_HEAD, data_end) is
 * the region. Best effort: a filesystem that cannot punch keeps them. */
void sm_ext4_data_punch(ext2_filsys fs, int fd, blk64_t data_end);

/* Writes every planned inode into a freshly initialised filesystem. */
int sm_ext4_write_tree(ext2_filsys fs, const sm_ext4_plan *p);

/* Writes to the image file as the host sees them. libext2fs calls a write
 * that stopped part way (a full disk) a "short write", and drops the errors
 * of some writes (cache evictions) altogether; the watcher finishes short
 * writes, so that a full disk shows as ENOSPC, and keeps the first errno. */
typedef struct sm_ext4_host {
    const char *path;   /* the image file, as libext2fs opened it */
    int err;            /* the first write to it that failed, or 0 */
} sm_ext4_host;

void sm_ext4_host_watch(ext2_filsys fs, sm_ext4_host *h);

/* Makes the filesystem of the tree around `data`, its files' bytes, in
 * the image file at `path`; `uuid` makes the image reproducible; `name`
 * names the image in errors. */
int sm_ext4_write(sm_tree *t, sm_data_region *data, const char *path, const char *name,
                  const uint8_t uuid[16]);

#endif
