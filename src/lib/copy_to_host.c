/* The host's side of a copy out of the VM: entries are made under a
 * directory fd with the *at() calls, each directory opened O_NOFOLLOW
 * from its parent, each file opened O_NOFOLLOW; so whatever names and
 * links the guest sends, nothing is written outside the destination. A
 * link the guest sends is made as a link and never followed here. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/copy.h"
#include "util/error.h"

static int fd_of(void *handle)
{
    return (int)(intptr_t)handle;
}

static int fail(const char *what, const char *name)
{
    int err = errno;
    return sm_fail(err, "cannot %s %.200s: %s", what, name, strerror(err));
}

static void times_of(const sm_agent_stat_reply *st, struct timespec t[2])
{
    t[0].tv_sec = t[1].tv_sec = (time_t)st->mtime;
    t[0].tv_nsec = t[1].tv_nsec = st->mtime_nsec;
}

static int make_dir(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                    void **child)
{
    (void)ctx, (void)st;
    /* 0700 while it fills: its own mode (say 0555) comes at the end. */
    if (mkdirat(fd_of(parent), name, 0700) < 0 && errno != EEXIST)
        return fail("make the directory", name);
    int fd = openat(fd_of(parent), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOTDIR || errno == ELOOP
                   ? sm_fail(ENOTDIR, "cannot copy into %.200s: not a directory", name)
                   : fail("open the directory", name);
    *child = (void *)(intptr_t)fd;
    return 0;
}

static int end_dir(void *ctx, void *dir, const sm_agent_stat_reply *st)
{
    (void)ctx;
    int fd = fd_of(dir);
    struct timespec t[2];
    times_of(st, t);
    int err = fchmod(fd, st->mode & 07777) < 0 ? fail("set the mode of", "a directory") : 0;
    if (!err && futimens(fd, t) < 0)
        err = fail("set the times of", "a directory");
    close(fd);
    return err;
}

/* O_NOFOLLOW: a link in the way (say one the guest sent before under the
 * same name) is replaced, never written through. */
static int create(int dir_fd, const char *name)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    int fd = openat(dir_fd, name, flags, 0600);
    if (fd < 0 && errno == ELOOP && unlinkat(dir_fd, name, 0) == 0)
        fd = openat(dir_fd, name, flags | O_EXCL, 0600);
    struct stat hs;
    if (fd >= 0 && (fstat(fd, &hs) < 0 || !S_ISREG(hs.st_mode))) {
        close(fd);
        errno = EEXIST;
        return -1;
    }
    return fd;
}

static int to_fd(void *ctx, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(*(int *)ctx, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail("write", "a file");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_file(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                      sm_agent_conn *c, const char *path)
{
    (void)ctx;
    int fd = create(fd_of(parent), name);
    if (fd < 0)
        return fail("write", name);
    int err = sm_agent_read_file(c, path, to_fd, &fd);
    struct timespec t[2];
    times_of(st, t);
    if (!err && (fchmod(fd, st->mode & 07777) < 0 || futimens(fd, t) < 0))
        err = fail("set the mode of", name);
    if (close(fd) < 0 && !err)
        err = fail("write", name);
    return err;
}

static int make_link(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                     const char *target)
{
    (void)ctx;
    int dir_fd = fd_of(parent);
    if (symlinkat(target, dir_fd, name) < 0) {
        struct stat hs;
        if (errno != EEXIST || fstatat(dir_fd, name, &hs, AT_SYMLINK_NOFOLLOW) < 0 ||
            S_ISDIR(hs.st_mode) || unlinkat(dir_fd, name, 0) < 0 ||
            symlinkat(target, dir_fd, name) < 0)
            return fail("make the link", name);
    }
    struct timespec t[2];
    times_of(st, t);
    utimensat(dir_fd, name, t, AT_SYMLINK_NOFOLLOW);  /* best effort, as cp -a */
    return 0;
}

const copy_sink copy_host_sink = {
    .dir = make_dir, .dir_end = end_dir, .file = write_file, .link = make_link,
};
