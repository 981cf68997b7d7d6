/* The host's tree into the guest (docker cp SRC VM:DST): a walk by
 * directory fds, links not followed below the top, each entry made in
 * the guest by MKDIR, FILE_WRITE or LINK on one agent connection. Owned
 * by root in the guest unless `archive` keeps the host's uid/gid. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/copy.h"
#include "util/error.h"

static int fail(const char *what, const char *name)
{
    int err = errno;
    return sm_fail(err, "cannot %s %.200s: %s", what, name, strerror(err));
}

static sm_agent_file_req req_for(const char *path, const struct stat *hs, bool archive)
{
    return (sm_agent_file_req){.path = path, .mode = hs->st_mode & 07777,
                               .uid = archive ? (int64_t)hs->st_uid : -1,
                               .gid = archive ? (int64_t)hs->st_gid : -1};
}

static int walk(sm_agent_conn *c, int dir_fd, const char *name, const char *path, bool follow,
                bool archive, int depth);

static int children(sm_agent_conn *c, int fd, const char *path, bool archive, int depth)
{
    if (depth > COPY_MAX_DEPTH)
        return sm_fail(ELOOP, "%.200s: more than %d directories deep", path, COPY_MAX_DEPTH);
    int dup_fd = dup(fd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        int err = fail("list", path);
        if (dup_fd >= 0)
            close(dup_fd);
        return err;
    }
    int err = 0;
    struct dirent *e;
    while (!err && (errno = 0, e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *sub = copy_join(path, e->d_name);
        err = sub ? walk(c, fd, e->d_name, sub, false, archive, depth) : -ENOMEM;
        free(sub);
    }
    if (!err && errno)
        err = fail("list", path);
    closedir(d);
    return err;
}

static int copy_dir(sm_agent_conn *c, int dir_fd, const char *name, const char *path,
                    const struct stat *hs, bool follow, bool archive, int depth)
{
    sm_agent_file_req req = req_for(path, hs, archive);
    int err = sm_agent_mkdir(c, &req);
    if (err)
        return err;
    int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0)
        return fail("open", name);
    err = children(c, fd, path, archive, depth + 1);
    close(fd);
    return err;
}

static int copy_file(sm_agent_conn *c, int dir_fd, const char *name, const char *path,
                     const struct stat *hs, bool follow, bool archive)
{
    /* O_NONBLOCK: it was a file a moment ago; if a FIFO took its place,
     * do not hang on it. */
    int fd = openat(dir_fd, name,
                    O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0)
        return fail("read", name);
    sm_agent_file_req req = req_for(path, hs, archive);
    int err = sm_agent_write_file_fd(c, &req, fd);
    close(fd);
    return err;
}

static int copy_link(sm_agent_conn *c, int dir_fd, const char *name, const char *path,
                     const struct stat *hs, bool archive)
{
    char target[PATH_MAX];
    ssize_t n = readlinkat(dir_fd, name, target, sizeof target - 1);
    if (n < 0)
        return fail("read the link", name);
    target[n] = '\0';
    sm_agent_file_req req = req_for(path, hs, archive);
    req.target = target;
    return sm_agent_link(c, &req);
}

static int walk(sm_agent_conn *c, int dir_fd, const char *name, const char *path, bool follow,
                bool archive, int depth)
{
    struct stat hs;
    if (fstatat(dir_fd, name, &hs, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
        return fail("read", name);
    if (S_ISDIR(hs.st_mode))
        return copy_dir(c, dir_fd, name, path, &hs, follow, archive, depth);
    if (S_ISREG(hs.st_mode))
        return copy_file(c, dir_fd, name, path, &hs, follow, archive);
    if (S_ISLNK(hs.st_mode))
        return copy_link(c, dir_fd, name, path, &hs, archive);
    /* Devices, FIFOs, sockets: left out, but not when asked for by name. */
    return depth ? 0 : sm_fail(EINVAL, "cannot copy %.200s: not a file, directory or link", name);
}

int copy_host_entry(sm_agent_conn *c, int dir_fd, const char *name, const char *path,
                    bool follow, bool archive)
{
    return walk(c, dir_fd, name, path, follow, archive, 0);
}

int copy_host_children(sm_agent_conn *c, int dir_fd, const char *path, bool archive)
{
    return children(c, dir_fd, path, archive, 1);
}
