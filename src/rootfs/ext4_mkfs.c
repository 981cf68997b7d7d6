#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootfs/ext4.h"
#include "util/error.h"

#define FIRST_INO 11
#define MIN_BLOCKS 1024
#define BLOCKS_PER_GROUP (SM_EXT4_BLOCK_SIZE * 8)

/* The features of Debian's mke2fs "ext4" minus what a read-only image never
 * uses: no journal, no resize inode, no orphan file. */
static void fill_params(struct ext2_super_block *sb, uint64_t blocks, uint32_t inodes)
{
    memset(sb, 0, sizeof *sb);
    sb->s_rev_level = EXT2_DYNAMIC_REV;
    sb->s_log_block_size = 2; /* 1024 << 2 */
    sb->s_inode_size = SM_EXT4_INODE_SIZE;
    sb->s_first_ino = FIRST_INO;
    sb->s_inodes_count = inodes;
    sb->s_log_groups_per_flex = 4;
    sb->s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
    sb->s_errors = EXT2_ERRORS_RO;
    sb->s_feature_compat = EXT2_FEATURE_COMPAT_EXT_ATTR | EXT2_FEATURE_COMPAT_DIR_INDEX;
    sb->s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS |
                             EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_FLEX_BG;
    sb->s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER |
                              EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
                              EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
                              EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE |
                              EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;
    ext2fs_blocks_count_set(sb, blocks);
}

static int ext2_fail(errcode_t e, const char *what)
{
    return sm_fail(sm_ext2_errno(e), "%s: %s", what, sm_ext2_strerror(e));
}

/* Identity and timestamps come from the input alone, so that the same
 * layers give the same bytes on any host. */
static void set_identity(ext2_filsys fs, const uint8_t uuid[16], int64_t newest)
{
    struct ext2_super_block *sb = fs->super;
    fs->now = newest > 0 && newest < UINT32_MAX ? (time_t)newest : 1;
    sb->s_mkfs_time = sb->s_lastcheck = (uint32_t)fs->now;
    memcpy(sb->s_uuid, uuid, sizeof sb->s_uuid);
    for (size_t i = 0; i < sizeof sb->s_hash_seed; i++)
        ((uint8_t *)sb->s_hash_seed)[i] = uuid[15 - i] ^ 0x5a;
    sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
    sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
    sb->s_max_mnt_count = -1;
    strncpy((char *)sb->s_volume_name, "supermachine", sizeof sb->s_volume_name);
    ext2fs_init_csum_seed(fs);
}

/* Inodes 1..10 are reserved; with checksums they must still be valid. */
static int reserve_inodes(ext2_filsys fs)
{
    struct ext2_inode_large zero;
    memset(&zero, 0, sizeof zero);
    for (ext2_ino_t ino = 1; ino < FIRST_INO; ino++) {
        if (ino == EXT2_ROOT_INO)
            continue;
        errcode_t e = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)&zero, sizeof zero);
        if (e)
            return ext2_fail(e, "cannot write reserved inodes");
        ext2fs_inode_alloc_stats2(fs, ino, +1, 0);
    }
    errcode_t e = ext2fs_update_bb_inode(fs, NULL);
    return e ? ext2_fail(e, "cannot write the bad blocks inode") : 0;
}

static int init_fs(const char *path, uint64_t blocks, uint32_t inodes, const uint8_t uuid[16],
                   int64_t newest, sm_ext4_host *host, ext2_filsys *out)
{
    struct ext2_super_block param;
    fill_params(&param, blocks, inodes);
    ext2_filsys fs;
    errcode_t e = ext2fs_initialize(path, EXT2_FLAG_RW | EXT2_FLAG_64BITS, &param,
                                    unix_io_manager, &fs);
    if (e)
        return ext2_fail(e, "cannot create the filesystem");
    sm_ext4_host_watch(fs, host);
    set_identity(fs, uuid, newest);
    e = ext2fs_allocate_tables(fs);
    if (!e)
        e = ext2fs_convert_subcluster_bitmap(fs, &fs->block_map);
    if (e) {
        ext2fs_free(fs);
        return ext2_fail(e, "cannot lay out the filesystem");
    }
    /* The file is new and sparse, so the inode tables are zeros already. */
    for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
        ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
        ext2fs_group_desc_csum_set(fs, g);
    }
    int err = reserve_inodes(fs);
    if (err) {
        ext2fs_free(fs);
        return err;
    }
    *out = fs;
    return 0;
}

/* An upper bound: data, inode tables, and bitmaps and descriptor copies as if
 * every group had them. The image is sparse, so spare room costs nothing. */
static uint64_t estimate_blocks(const sm_ext4_plan *p, uint32_t inodes)
{
    uint64_t itable = ((uint64_t)inodes * SM_EXT4_INODE_SIZE + SM_EXT4_BLOCK_SIZE - 1) /
                      SM_EXT4_BLOCK_SIZE;
    uint64_t base = p->data_blocks + itable;
    uint64_t groups = base / BLOCKS_PER_GROUP + 1;
    uint64_t gdt = (groups * EXT2_MIN_DESC_SIZE_64BIT + SM_EXT4_BLOCK_SIZE - 1) /
                   SM_EXT4_BLOCK_SIZE;
    uint64_t total = base + groups * (3 + gdt);
    total += total / 50 + 256;
    return total < MIN_BLOCKS ? MIN_BLOCKS : total;
}

static int build(const sm_ext4_plan *p, const sm_spool *spool, const char *path,
                 uint64_t blocks, uint32_t inodes, const uint8_t uuid[16], sm_ext4_host *host)
{
    if (truncate(path, 0) < 0 || truncate(path, (off_t)(blocks * SM_EXT4_BLOCK_SIZE)) < 0)
        return sm_fail(errno, "cannot size the image file '%s': %s", path, strerror(errno));
    ext2_filsys fs;
    int err = init_fs(path, blocks, inodes, uuid, p->newest, host, &fs);
    if (err)
        return err;
    err = sm_ext4_write_tree(fs, p, spool);
    if (err) {
        ext2fs_free(fs);
        return err;
    }
    /* Refuses read-write mounts: the guest puts an overlay on top instead. */
    ext2fs_set_feature_readonly(fs->super);
    ext2fs_mark_super_dirty(fs);
    errcode_t e = ext2fs_close_free(&fs);
    return e ? ext2_fail(e, "cannot finish the filesystem") : 0;
}

/* A write the host refused (a full disk) is what the user must hear of,
 * whatever libext2fs made of it, or even if it ignored it. */
static int attempt(const sm_ext4_plan *p, const sm_spool *spool, const char *path,
                   const char *name, uint64_t blocks, uint32_t inodes, const uint8_t uuid[16],
                   bool *host_failed)
{
    sm_ext4_host host = {.path = path};
    int err = build(p, spool, path, blocks, inodes, uuid, &host);
    *host_failed = host.err != 0;
    if (host.err)
        return sm_fail(host.err, "cannot write '%s': %s", name, strerror(host.err));
    return err;
}

int sm_ext4_write(sm_tree *t, const sm_spool *spool, const char *path, const char *name,
                  const uint8_t uuid[16])
{
    sm_ext4_plan plan;
    int err = sm_ext4_plan_make(t, FIRST_INO, &plan);
    if (err)
        return err;
    uint32_t inodes = plan.n_ino + 16;
    uint64_t blocks = estimate_blocks(&plan, inodes);
    /* The estimate should always hold; if it does not, double it rather than
     * fail a user's image. A full disk is no reason to try bigger. */
    bool host_failed = false;
    for (int i = 0; i < 3 && !host_failed; i++) {
        err = attempt(&plan, spool, path, name, blocks, inodes, uuid, &host_failed);
        if (err != -ENOSPC)
            break;
        blocks *= 2;
    }
    sm_ext4_plan_free(&plan);
    return err;
}
