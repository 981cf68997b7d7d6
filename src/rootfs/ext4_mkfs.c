#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rootfs/ext4.h"
#include "util/error.h"

#define FIRST_INO 11
#define MIN_BLOCKS 1024
#define HEAD_BLOCKS (SM_DATA_HEAD / SM_EXT4_BLOCK_SIZE)

/* The features of Debian's mke2fs "ext4" minus what a read-only image never
 * uses: no journal, no resize inode, no orphan file. And no backups of the
 * superblock: they would go at the start of groups that the data region
 * holds (sparse_super2 with none; the image is rebuilt from its layers
 * rather than repaired). */
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
    sb->s_feature_compat = EXT2_FEATURE_COMPAT_EXT_ATTR | EXT2_FEATURE_COMPAT_DIR_INDEX |
                           EXT4_FEATURE_COMPAT_SPARSE_SUPER2;
    sb->s_backup_bgs[0] = sb->s_backup_bgs[1] = 0;
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

/* A filesystem of `blocks` blocks over the file at `path`, nothing in it
 * laid out yet. */
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
    *out = fs;
    return 0;
}

static const char *tib(uint64_t n, char *buf, size_t len)
{
    snprintf(buf, len, "%.2f TiB", (double)n / (1ull << 40));
    return buf;
}

/* The filesystem over the data region and a tail of `meta` blocks for the
 * metadata besides the group tables, which it works out: as many groups
 * as the blocks make, no more inodes in a group than bits in its bitmap. */
static int size_fs(const char *path, uint64_t data_end, uint64_t meta, uint32_t inodes,
                   const uint8_t uuid[16], int64_t newest, sm_ext4_host *host,
                   ext2_filsys *out)
{
    uint64_t blocks = data_end + meta;
    blocks = blocks > inodes ? blocks : inodes;
    blocks = blocks > MIN_BLOCKS ? blocks : MIN_BLOCKS;
    for (int i = 0; i < 8; i++) {
        ext2_filsys fs;
        int err = init_fs(path, blocks, inodes, uuid, newest, host, &fs);
        if (err)
            return err;
        uint64_t have = ext2fs_blocks_count(fs->super);
        uint64_t tables = (uint64_t)fs->group_desc_count * (2 + fs->inode_blocks_per_group);
        uint64_t need = data_end + tables + meta;
        if (fs->desc_blocks >= HEAD_BLOCKS) {
            char h1[32], h2[32];
            uint64_t most = (uint64_t)(HEAD_BLOCKS - 1) * EXT2_DESC_PER_BLOCK(fs->super) *
                            fs->super->s_blocks_per_group * SM_EXT4_BLOCK_SIZE;
            ext2fs_free(fs);
            return sm_fail(EFBIG, "the image would be %s, more than the %s an image can be",
                           tib(blocks * SM_EXT4_BLOCK_SIZE, h1, sizeof h1),
                           tib(most, h2, sizeof h2));
        }
        if (have >= need) {
            *out = fs;
            return 0;
        }
        /* Short of the tables, or of a last group too small to keep, which
         * ext2fs_initialize drops: that much more, and the group's tables. */
        blocks = (need > blocks ? need : blocks) + 2 + fs->inode_blocks_per_group + 64;
        ext2fs_free(fs);
    }
    return sm_fail(ENOSPC, "cannot lay out the image's filesystem");
}

/* Every group's tables in the tail, the reserved inodes, the tree. */
static int fill_fs(ext2_filsys fs, sm_ext4_tail *tail, const sm_ext4_plan *p,
                   uint64_t data_end)
{
    int err = sm_ext4_tail_init(fs, tail, data_end);
    if (err)
        return err;
    /* The file is sparse there, so the inode tables are zeros already. */
    for (dgrp_t g = 0; g < fs->group_desc_count; g++)
        ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
    err = reserve_inodes(fs);
    return err ? err : sm_ext4_write_tree(fs, p);
}

/* An upper bound on the metadata after the group tables. The image is
 * sparse, so spare room costs nothing. */
static uint64_t estimate_meta(const sm_ext4_plan *p)
{
    return p->meta_blocks + p->meta_blocks / 50 + 256;
}

static int resize(int fd, uint64_t blocks, const char *name)
{
    if (ftruncate(fd, (off_t)(blocks * SM_EXT4_BLOCK_SIZE)) < 0)
        return sm_fail(errno, "cannot size '%s': %s", name, strerror(errno));
    return 0;
}

static int build(const sm_ext4_plan *p, int fd, const char *path, const char *name,
                 uint64_t data_end, uint64_t meta, uint32_t inodes, const uint8_t uuid[16],
                 sm_ext4_host *host)
{
    /* What an attempt before this one wrote after the data goes. */
    int err = resize(fd, data_end, name);
    if (err)
        return err;
    ext2_filsys fs;
    sm_ext4_tail tail;
    err = size_fs(path, data_end, meta, inodes, uuid, p->newest, host, &fs);
    if (err)
        return err;
    err = resize(fd, ext2fs_blocks_count(fs->super), name);
    if (!err)
        err = fill_fs(fs, &tail, p, data_end);
    if (err) {
        ext2fs_free(fs);
        return err;
    }
    sm_ext4_data_punch(fs, fd, data_end);
    /* Refuses read-write mounts: the guest puts an overlay on top instead. */
    ext2fs_set_feature_readonly(fs->super);
    ext2fs_mark_super_dirty(fs);
    errcode_t e = ext2fs_set_gdt_csum(fs);
    if (!e)
        e = ext2fs_close_free(&fs);
    else
        ext2fs_free(fs);
    return e ? ext2_fail(e, "cannot finish the filesystem") : 0;
}

/* A write the host refused (a full disk) is what the user must hear of,
 * whatever libext2fs made of it, or even if it ignored it. */
static int attempt(const sm_ext4_plan *p, int fd, const char *path, const char *name,
                   uint64_t data_end, uint64_t meta, uint32_t inodes, const uint8_t uuid[16],
                   bool *host_failed)
{
    sm_ext4_host host = {.path = path};
    int err = build(p, fd, path, name, data_end, meta, inodes, uuid, &host);
    *host_failed = host.err != 0;
    if (host.err)
        return sm_fail(host.err, "cannot write '%s': %s", name, strerror(host.err));
    return err;
}

int sm_ext4_write(sm_tree *t, sm_data_region *data, const char *path, const char *name,
                  const uint8_t uuid[16])
{
    sm_ext4_plan plan;
    int err = sm_ext4_plan_make(t, FIRST_INO, &plan);
    if (err)
        return err;
    uint32_t inodes = plan.n_ino + 16;
    uint64_t data_end = (SM_DATA_HEAD + sm_data_region_end(data)) / SM_EXT4_BLOCK_SIZE;
    uint64_t meta = estimate_meta(&plan);
    /* The estimate should always hold; if it does not, double the tail
     * rather than fail a user's image (the data stays where it is). A full
     * disk is no reason to try bigger. */
    bool host_failed = false;
    for (int i = 0; i < 3 && !host_failed; i++) {
        err = attempt(&plan, data->fd, path, name, data_end, meta, inodes, uuid, &host_failed);
        if (err != -ENOSPC)
            break;
        meta *= 2;
    }
    sm_ext4_plan_free(&plan);
    return err;
}
