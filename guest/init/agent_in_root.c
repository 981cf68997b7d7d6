/* A path inside a container's root, resolved as the container would see
 * it: its image's symlinks (/var/run -> /run, or a hostile /etc -> /)
 * stay inside the root, as runc's securejoin keeps them. Each prefix is
 * opened with openat2's RESOLVE_IN_ROOT from the root, and a missing one
 * made inside what its parent resolved to; the caller mounts on the
 * result through /proc/self/fd. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent_int.h"

/* <linux/openat2.h>, which musl's headers lack. */
struct sm_open_how {
    uint64_t flags, mode, resolve;
};
#define SM_RESOLVE_IN_ROOT 0x10

static int open_in(int rootfd, const char *rel)
{
    struct sm_open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = SM_RESOLVE_IN_ROOT};
    long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

/* Make the missing last component of rel in parent, the directory its
 * prefix resolved to. mkdirat and O_EXCL never follow a symlink there:
 * where one that dangles leads is not made (runc's would be), and the
 * open after fails with ENOENT. */
static int make_in(int parent, const char *name, bool file)
{
    if (!file)
        return mkdirat(parent, name, 0755) < 0 && errno != EEXIST ? -errno : 0;
    int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno == EEXIST ? 0 : -errno;
    close(fd);
    return 0;
}

/* The next prefix of rel: one more component, made when missing. */
static int step(int rootfd, const char *rel, int parent, const char *name, bool file)
{
    int fd = open_in(rootfd, rel);
    if (fd != -ENOENT)
        return fd;
    int err = make_in(parent, name, file);
    return err ? err : open_in(rootfd, rel);
}

int in_root_open(const char *root, const char *path, bool file, int *out)
{
    char rel[4096], name[256];
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return -errno;
    int cur = dup(rootfd), err = cur < 0 ? -errno : 0;
    size_t len = 0;
    for (const char *p = path; !err && *p;) {
        size_t n = strcspn(p, "/");
        const char *next = p + n + (p[n] == '/');
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p = next;
            continue;
        }
        if (n >= sizeof name || len + n + 2 >= sizeof rel) {
            err = -ENAMETOOLONG;
            break;
        }
        memcpy(name, p, n);
        name[n] = '\0';
        len += (size_t)snprintf(rel + len, sizeof rel - len, "%s%s", len ? "/" : "", name);
        bool last = next[strspn(next, "/")] == '\0';
        int fd = step(rootfd, rel, cur, name, file && last);
        close(cur);
        cur = fd;
        err = fd < 0 ? fd : 0;
        p = next;
    }
    close(rootfd);
    if (err && cur >= 0)
        close(cur);
    if (err)
        return err;
    *out = cur;
    return 0;
}
