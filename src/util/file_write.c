/* Writing whole files so that a crash leaves the old one or the new one,
 * never a mix: one implementation for the store, snapshots and the VM
 * registry. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"

/* Retries short writes and EINTR; at (pwrite at off) or not (write). A
 * write of 0 bytes, which a full filesystem can answer, is EIO rather
 * than a loop for ever. */
static int write_loop(int fd, const char *p, size_t len, bool at, uint64_t off)
{
    while (len) {
        ssize_t n = at ? pwrite(fd, p, len, (off_t)off) : write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int sm_write_all(int fd, const void *data, size_t len)
{
    return write_loop(fd, data, len, false, 0);
}

int sm_pwrite_all(int fd, const void *data, size_t len, uint64_t off)
{
    return write_loop(fd, data, len, true, off);
}

void sm_path_dir(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    while (slash && slash > path && slash[1] == '\0') /* "a/b/" names b */
        slash = memrchr(path, '/', (size_t)(slash - path));
    if (!slash)
        snprintf(out, len, ".");
    else if (slash == path)
        snprintf(out, len, "/");
    else
        snprintf(out, len, "%.*s", (int)(slash - path), path);
}

int sm_file_fsync_dir_of(const char *path)
{
    char d[PATH_MAX];
    sm_path_dir(path, d, sizeof d);
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "cannot open directory '%s': %s", d, strerror(errno));
    int err = fsync(fd) < 0 ? sm_fail(errno, "cannot sync '%s': %s", d, strerror(errno)) : 0;
    close(fd);
    return err;
}

/* The temporary file sits next to `path` ("<path>.tmp-XXXXXX"), on the
 * same filesystem, so the rename is atomic; the store's gc knows the
 * pattern and removes leftovers. */
int sm_file_write_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path) >= sizeof tmp)
        return sm_fail(ENAMETOOLONG, "path too long: %s", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "cannot create '%s': %s", tmp, strerror(errno));
    int err = sm_write_all(fd, data, len);
    if (err)
        err = sm_fail(-err, "cannot write '%s': %s", tmp, strerror(-err));
    if (!err && (fchmod(fd, mode) < 0 || fsync(fd) < 0))
        err = sm_fail(errno, "cannot sync '%s': %s", tmp, strerror(errno));
    close(fd);
    if (!err && rename(tmp, path) < 0)
        err = sm_fail(errno, "cannot replace '%s': %s", path, strerror(errno));
    if (err) {
        unlink(tmp);
        return err;
    }
    return sm_file_fsync_dir_of(path);
}
