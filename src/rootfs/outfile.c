#include "rootfs/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"
#include "util/test_point.h"

int sm_outfile_create(sm_outfile *o, const char *final)
{
    char dir[PATH_MAX];
    sm_path_dir(final, dir, sizeof dir);
    o->named[0] = '\0';
    o->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (o->fd >= 0) {
        snprintf(o->path, sizeof o->path, "/proc/self/fd/%d", o->fd);
        return 0;
    }
    snprintf(o->named, sizeof o->named, "%s.tmp-XXXXXX", final);
    o->fd = mkostemp(o->named, O_CLOEXEC);
    if (o->fd < 0) {
        int e = errno;
        o->named[0] = '\0';
        return sm_fail(e, "cannot create a file in '%s': %s", dir, strerror(e));
    }
    (void)fchmod(o->fd, 0644); /* mkstemp makes it 0600 */
    snprintf(o->path, sizeof o->path, "%s", o->named);
    return 0;
}

static int sync_dir(const char *final)
{
    char dir[PATH_MAX];
    sm_path_dir(final, dir, sizeof dir);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "cannot open '%s': %s", dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    return r < 0 ? sm_fail(e, "cannot sync '%s': %s", dir, strerror(e)) : 0;
}

int sm_outfile_commit(sm_outfile *o, const char *final)
{
    if (fsync(o->fd) < 0)
        return sm_fail(errno, "cannot sync '%s': %s", final, strerror(errno));
    if (!o->named[0]) {
        /* linkat cannot replace, so link under a temporary name and rename. */
        snprintf(o->named, sizeof o->named, "%s.tmp-%d-%d", final, (int)getpid(), o->fd);
        unlink(o->named);
        if (linkat(AT_FDCWD, o->path, AT_FDCWD, o->named, AT_SYMLINK_FOLLOW) < 0) {
            int e = errno;
            o->named[0] = '\0';
            return sm_fail(e, "cannot create '%s': %s", final, strerror(e));
        }
    }
    sm_test_point("commit");
    if (rename(o->named, final) < 0)
        return sm_fail(errno, "cannot create '%s': %s", final, strerror(errno));
    o->named[0] = '\0';
    close(o->fd);
    o->fd = -1;
    return sync_dir(final);
}

void sm_outfile_abort(sm_outfile *o)
{
    if (o->named[0])
        unlink(o->named);
    o->named[0] = '\0';
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
}
