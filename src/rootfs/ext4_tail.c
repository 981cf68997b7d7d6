#include <errno.h>

#include "rootfs/ext4.h"
#include "util/error.h"

/* libext2fs's allocations (extent tree blocks, xattr blocks) come here
 * instead of its own search, which starts near the inode's group and
 * would take free blocks of the data region or the head. */
static errcode_t next_block(ext2_filsys fs, blk64_t goal, blk64_t *ret)
{
    (void)goal;
    sm_ext4_tail *t = fs->priv_data;
    if (t->next >= t->end)
        return EXT2_ET_BLOCK_ALLOC_FAIL;
    *ret = t->next++;
    return 0;
}

/* With flex_bg a group's bitmaps and inode table may be anywhere in the
 * filesystem (the kernel's ext4_check_descriptors asks no more), so all
 * of them go together here, as mke2fs packs those of a flex group. The
 * file is sparse: tables of groups without inodes in use stay holes. */
int sm_ext4_tail_init(ext2_filsys fs, sm_ext4_tail *t, blk64_t at)
{
    dgrp_t groups = fs->group_desc_count;
    blk64_t b = at;
    for (dgrp_t g = 0; g < groups; g++)
        ext2fs_block_bitmap_loc_set(fs, g, b++);
    for (dgrp_t g = 0; g < groups; g++)
        ext2fs_inode_bitmap_loc_set(fs, g, b++);
    for (dgrp_t g = 0; g < groups; g++, b += fs->inode_blocks_per_group)
        ext2fs_inode_table_loc_set(fs, g, b);
    t->next = b;
    t->end = ext2fs_blocks_count(fs->super);
    if (b > t->end)
        return sm_fail(ENOSPC, "no room for the image's inode tables");
    ext2fs_block_alloc_stats_range(fs, at, b - at, +1);
    fs->priv_data = t;
    ext2fs_set_alloc_block_callback(fs, next_block, NULL);
    return 0;
}

int sm_ext4_tail_take(ext2_filsys fs, blk64_t n, blk64_t *first)
{
    sm_ext4_tail *t = fs->priv_data;
    if (n > t->end - t->next)
        return sm_fail(ENOSPC, "no room left for the image's metadata");
    *first = t->next;
    t->next += n;
    if (n)
        ext2fs_block_alloc_stats_range(fs, *first, n, +1);
    return 0;
}
