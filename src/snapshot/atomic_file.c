#include "snapshot/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

int sm_snap_write_all(int fd, const void *data, size_t len, const char *path)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sm_fail(errno, "cannot write %s: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int sm_snap_fsync_parent(const char *path)
{
    char copy[PATH_MAX];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return sm_fail(ENAMETOOLONG, "path too long: %s", path);
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "cannot open directory %s: %s", dir, strerror(errno));
    int rc = fsync(fd) < 0 ? sm_fail(errno, "cannot fsync directory %s: %s", dir,
                                     strerror(errno)) : 0;
    close(fd);
    return rc;
}

/* ".<name>.tmp-<pid>" next to `path`: same filesystem, so rename is atomic. */
static int temp_name(const char *path, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    int n = snprintf(out, size, "%.*s.%s.tmp-%ld", dirlen, path, base, (long)getpid());
    if (n < 0 || (size_t)n >= size)
        return sm_fail(ENAMETOOLONG, "path too long: %s", path);
    return 0;
}

int sm_snap_write_file_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    int rc = temp_name(path, tmp, sizeof tmp);
    if (rc < 0)
        return rc;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return sm_fail(errno, "cannot create %s: %s", tmp, strerror(errno));
    rc = sm_snap_write_all(fd, data, len, tmp);
    if (rc == 0 && fsync(fd) < 0)
        rc = sm_fail(errno, "cannot fsync %s: %s", tmp, strerror(errno));
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = sm_fail(errno, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    return sm_snap_fsync_parent(path);
}
