#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "rootfs/ext4.h"
#include "util/log.h"

_Static_assert(SM_DATA_HEAD % SM_EXT4_BLOCK_SIZE == 0 && SM_DATA_ALIGN == SM_EXT4_BLOCK_SIZE,
               "a file's bytes start on a block of its own");

blk64_t sm_ext4_data_block(const sm_inode *in)
{
    return (SM_DATA_HEAD + in->data_off) / SM_EXT4_BLOCK_SIZE;
}

/* Files a later layer deleted or replaced were written all the same: their
 * blocks are free in the filesystem, and punched they cost no disk either. */
void sm_ext4_data_punch(ext2_filsys fs, int fd, blk64_t data_end)
{
    blk64_t at = SM_DATA_HEAD / SM_EXT4_BLOCK_SIZE, last = data_end - 1;
    while (at < data_end) {
        blk64_t free_at, used_at;
        if (ext2fs_find_first_zero_block_bitmap2(fs->block_map, at, last, &free_at))
            return;
        if (ext2fs_find_first_set_block_bitmap2(fs->block_map, free_at, last, &used_at))
            used_at = data_end;
        if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)(free_at * SM_EXT4_BLOCK_SIZE),
                      (off_t)((used_at - free_at) * SM_EXT4_BLOCK_SIZE)) < 0) {
            sm_debug("rootfs: free blocks of the image stay on disk: %s", strerror(errno));
            return;
        }
        at = used_at;
    }
}
