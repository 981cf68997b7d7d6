/* Names, lookups beneath a directory and qids: where the export's walls
 * are kept. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "devices/p9/p9_int.h"

bool sm_p9_name_ok(const char *name)
{
    return name && *name && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
           !strchr(name, '/');
}

int sm_p9_open_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
    if (!sm_p9_name_ok(name))
        return -EINVAL;
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) {
        /* Before Linux 5.6: one checked name with O_NOFOLLOW cannot leave
         * dirfd either; openat2 is the second wall, not the only one. */
        fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    }
    return fd < 0 ? -errno : (int)fd;
}

void sm_p9_proc_path(char buf[32], int fd)
{
    snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* A worker run as root keeps CAP_CHOWN for shares, so the guest's users
 * own their files on the host as they would in a bind mount; any other
 * worker cannot give files away, and they stay its user's. */
void sm_p9_own(int dirfd, const char *name, uint32_t uid, uint32_t gid)
{
    if (uid == SM_P9_NO_UID)
        return;
    int rc = name ? fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW)
                  : fchown(dirfd, uid, gid);
    (void)rc;
}

int sm_p9_reopen(int path_fd, int flags)
{
    /* The fd is already resolved: its /proc link names that very inode
     * (a symlink's own inode, never its target), so this is no lookup. */
    char p[32];
    sm_p9_proc_path(p, path_fd);
    int fd = open(p, flags | O_CLOEXEC | O_NOCTTY);
    return fd < 0 ? -errno : fd;
}

int sm_p9_stat(int fd, struct stat *st)
{
    return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

sm_p9_qid sm_p9_qid_of(const sm_p9_server *s, const struct stat *st)
{
    uint8_t type = S_ISDIR(st->st_mode) ? SM_P9_QTDIR
                 : S_ISLNK(st->st_mode) ? SM_P9_QTSYMLINK : SM_P9_QTFILE;
    uint64_t path = (uint64_t)st->st_ino;
    /* Inode numbers repeat across file systems mounted inside the export. */
    if (st->st_dev != s->root_dev)
        path ^= (uint64_t)st->st_dev << 48;
    return (sm_p9_qid){.type = type, .path = path};
}

int sm_p9_node(sm_p9_server *s, uint32_t id, sm_p9_fid **out)
{
    sm_p9_fid *f = sm_p9_fid_get(&s->fids, id);
    if (!f || f->kind == SM_P9_FID_XATTR)
        return -EBADF;
    *out = f;
    return 0;
}

int sm_p9_dir_for_change(sm_p9_server *s, uint32_t id, const char *name, sm_p9_fid **out)
{
    if (s->read_only)
        return -EROFS;
    int err = sm_p9_node(s, id, out);
    if (err)
        return err;
    if ((*out)->kind == SM_P9_FID_VROOT)
        return -EPERM;
    return sm_p9_name_ok(name) ? 0 : -EINVAL;
}

int sm_p9_located(const sm_p9_fid *f, struct stat *st)
{
    struct stat there;
    if (f->kind != SM_P9_FID_NODE || f->parent_fd < 0 || !f->name)
        return -EPERM;
    int err = sm_p9_stat(f->fd, st);
    if (err)
        return err;
    if (fstatat(f->parent_fd, f->name, &there, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? -ESTALE : -errno;
    /* Renamed away since it was walked to: the name now means another. */
    return there.st_dev == st->st_dev && there.st_ino == st->st_ino ? 0 : -ESTALE;
}

int sm_p9_vroot_stat(const sm_p9_server *s, struct stat *st)
{
    struct stat file;
    if (fstatat(s->root_fd, s->file_name, &file, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    /* Owner and times of the file; the directory's own inode number as
     * its identity, which no entry of the export can have. */
    *st = file;
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_size = 0;
    st->st_blocks = 0;
    st->st_ino = s->root_ino;
    st->st_dev = s->root_dev;
    return 0;
}
