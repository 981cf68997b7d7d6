/* File contents copied from the spool into the image: the spool mapped
 * rather than read file by file, and blocks that land next to each other
 * in the image written together, so that tens of thousands of small files
 * cost a few hundred writes instead of a read and a write each. */
#ifndef SM_ROOTFS_EXT4_DATA_H
#define SM_ROOTFS_EXT4_DATA_H

#include <ext2fs/ext2fs.h>

#include "rootfs/spool.h"
#include "rootfs/tree.h"

typedef struct sm_ext4_data {
    ext2_filsys fs;
    const sm_spool *spool;
    const uint8_t *map;     /* the spool, read-only */
    size_t map_len;
    uint8_t *pend;          /* blocks waiting to be written at pend_blk */
    blk64_t pend_blk, pend_cnt;
} sm_ext4_data;

int sm_ext4_data_open(sm_ext4_data *d, ext2_filsys fs, const sm_spool *spool);
/* Blocks [lblk, lblk+len) of the file `in`, to image blocks from pblk. */
int sm_ext4_data_copy(sm_ext4_data *d, const sm_inode *in, blk64_t lblk, blk64_t pblk,
                      blk64_t len);
/* Writes what waits; `err` is passed through (nothing is written then). */
int sm_ext4_data_close(sm_ext4_data *d, int err);

#endif
