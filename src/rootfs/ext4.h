/* The tree written as an ext4 filesystem with libext2fs, without mounting
 * anything and without root: ownership, modes, devices and xattrs are plain
 * inode fields here. Internal to the image writer's files. */
#ifndef SM_ROOTFS_EXT4_H
#define SM_ROOTFS_EXT4_H

#include <ext2fs/ext2fs.h>
#include <stdint.h>

#include "rootfs/spool.h"
#include "rootfs/tree.h"

#define SM_EXT4_BLOCK_SIZE 4096u
#define SM_EXT4_INODE_SIZE 256u

/* Inode numbers given out in breadth-first name order, and the space the
 * image needs. */
typedef struct sm_ext4_plan {
    sm_node **by_ino;   /* first name of each inode number (NULL if unused) */
    uint32_t n_ino;     /* highest inode number + 1 */
    uint64_t data_blocks;
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

/* Writes every planned inode into a freshly initialised filesystem. */
int sm_ext4_write_tree(ext2_filsys fs, const sm_ext4_plan *p, const sm_spool *spool);

/* Writes to the image file as the host sees them. libext2fs calls a write
 * that stopped part way (a full disk) a "short write", and drops the errors
 * of some writes (cache evictions) altogether; the watcher finishes short
 * writes, so that a full disk shows as ENOSPC, and keeps the first errno. */
typedef struct sm_ext4_host {
    const char *path;   /* the image file, as libext2fs opened it */
    int err;            /* the first write to it that failed, or 0 */
} sm_ext4_host;

void sm_ext4_host_watch(ext2_filsys fs, sm_ext4_host *h);

/* Writes the whole tree into the empty file at `path`; `uuid` makes the
 * image reproducible; `name` names the image in errors. */
int sm_ext4_write(sm_tree *t, const sm_spool *spool, const char *path, const char *name,
                  const uint8_t uuid[16]);

#endif
