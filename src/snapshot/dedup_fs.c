/* Whether a filesystem can share extents, told before anything is read or
 * changed, with its name for the sentence that says it cannot. */
#include <errno.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include "snapshot/dedup.h"
#include "util/error.h"

static const struct {
    unsigned long magic;
    const char *name;
    int can_share;   /* 0: never; 1: may (the probe tells, e.g. XFS without reflink) */
} fs_types[] = {
    {EXT4_SUPER_MAGIC, "ext4", 0},   /* ext2 and ext3 have the same magic */
    {TMPFS_MAGIC, "tmpfs", 0},
    {RAMFS_MAGIC, "ramfs", 0},
    {MSDOS_SUPER_MAGIC, "vfat", 0},
    /* These depend on what is below them, or on the server: the probe asks. */
    {OVERLAYFS_SUPER_MAGIC, "overlayfs", 1},
    {NFS_SUPER_MAGIC, "nfs", 1},
    {0x65735546, "fuse", 1},
    {XFS_SUPER_MAGIC, "xfs", 1},
    {BTRFS_SUPER_MAGIC, "btrfs", 1},
    {0x2fc12fc1, "zfs", 1},
    {0x5346414f, "ocfs2", 1},
};

static void fs_name_of(unsigned long magic, char *out, size_t len, int *can_share)
{
    for (size_t i = 0; i < sizeof fs_types / sizeof fs_types[0]; i++)
        if (fs_types[i].magic == magic) {
            snprintf(out, len, "%s", fs_types[i].name);
            *can_share = fs_types[i].can_share;
            return;
        }
    snprintf(out, len, "a filesystem of type 0x%lx", magic);
    *can_share = 1;   /* unknown: the probe decides */
}

static int unsupported(const char *path, sm_snap_dedup_stats *st, const char *name)
{
    st->unsupported = 1;
    snprintf(st->fs_name, sizeof st->fs_name, "%s", name);
    return sm_fail(EOPNOTSUPP, "dedup: %s is on %s, which cannot share file extents "
                   "(XFS with reflink=1 or btrfs can); nothing was changed", path, name);
}

int sm_dedup_call(int src_fd, int dst_fd, uint64_t off, uint64_t len, int32_t *status,
                  uint64_t *deduped)
{
    /* The request ends in a flexible array of one destination. */
    union {
        struct file_dedupe_range r;
        uint8_t bytes[sizeof(struct file_dedupe_range) +
                      sizeof(struct file_dedupe_range_info)];
    } a;
    memset(&a, 0, sizeof a);
    a.r.src_offset = off;
    a.r.src_length = len;
    a.r.dest_count = 1;
    a.r.info[0].dest_fd = dst_fd;
    a.r.info[0].dest_offset = off;
    if (ioctl(src_fd, FIDEDUPERANGE, &a) < 0)
        return -errno;
    *status = a.r.info[0].status;
    *deduped = a.r.info[0].bytes_deduped;
    return 0;
}

/* Asks to share a file's first page with itself. A filesystem that can
 * share gets as far as checking the ranges and refuses the overlap
 * (EINVAL in the status); one that cannot fails the call or reports
 * EOPNOTSUPP (XFS made with reflink=0). Nothing is changed either way. */
static int probe(int fd)
{
    int32_t status = 0;
    uint64_t deduped;
    int rc = sm_dedup_call(fd, fd, 0, SM_DEDUP_PAGE, &status, &deduped);
    if (rc < 0)
        return rc == -EOPNOTSUPP || rc == -ENOTTY || rc == -EINVAL || rc == -EXDEV
            ? -EOPNOTSUPP : 0;
    return status == -EOPNOTSUPP ? -EOPNOTSUPP : 0;
}

/* The filesystem's name, and whether it may share at all. */
static int look(const char *path, char *name, size_t len, int *can_share)
{
    struct statfs sf;
    if (statfs(path, &sf) < 0)
        return sm_fail(errno, "dedup: cannot look at %s: %s", path, strerror(errno));
    fs_name_of((unsigned long)sf.f_type, name, len, can_share);
    if ((unsigned long)sf.f_type == XFS_SUPER_MAGIC)
        snprintf(name, len, "XFS made without reflink");   /* if it cannot share */
    return 0;
}

int sm_dedup_fs_check(const char *path, int fd, sm_snap_dedup_stats *st)
{
    char name[sizeof st->fs_name];
    int can_share;
    int rc = look(path, name, sizeof name, &can_share);
    if (rc < 0)
        return rc;
    if (!can_share || (fd >= 0 && probe(fd) < 0))
        return unsupported(path, st, name);
    return 0;
}

int sm_dedup_fs_refused(const char *path, sm_snap_dedup_stats *st)
{
    char name[sizeof st->fs_name];
    int can_share;
    int rc = look(path, name, sizeof name, &can_share);
    return rc < 0 ? rc : unsupported(path, st, name);
}
