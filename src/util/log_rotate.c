#include "util/log_rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/size.h"

uint64_t sm_log_max_bytes(void)
{
    const char *s = getenv(SM_LOG_MAX_ENV);
    uint64_t max = s && *s ? sm_parse_size(s) : 0;
    if (!max)
        max = SM_LOG_MAX_DEFAULT;
    return max < SM_LOG_MAX_MIN ? SM_LOG_MAX_MIN : max;
}

/* Where the descriptor's file is now: the fd itself is all the writer
 * has (its owner may be code that knows no path). */
static int path_of(int fd, char *path, size_t len)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, len - 1);
    if (n <= 0 || (size_t)n >= len - 1 || path[0] != '/')
        return -ENOENT;
    path[n] = '\0';
    return 0;
}

/* FILE -> FILE.1 and a new FILE opened as fd was, put in fd's place. */
static int rename_away(int fd, const struct stat *st)
{
    char path[PATH_MAX], old[PATH_MAX + sizeof SM_LOG_OLD_SUFFIX];
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    if (st->st_nlink == 0 || fl < 0 || fdfl < 0 || path_of(fd, path, sizeof path) < 0)
        return -ENOENT;
    snprintf(old, sizeof old, "%s" SM_LOG_OLD_SUFFIX, path);
    if (rename(path, old) < 0)
        return -errno;
    int nfd = open(path, (fl & (O_ACCMODE | O_APPEND)) | O_CREAT | O_CLOEXEC,
                   st->st_mode & 0777);
    if (nfd < 0) {
        int e = errno;
        rename(old, path);   /* back, so that fd still is FILE */
        return -e;
    }
    int r = dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0 ? -errno : 0;
    close(nfd);
    return r;
}

int sm_log_make_room(int fd, uint64_t n, uint64_t max)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size == 0 || (uint64_t)st.st_size + n <= max / 2)
        return 0;
    if (rename_away(fd, &st) == 0)
        return 0;
    /* Keep the bound where the history cannot be kept. */
    if (ftruncate(fd, 0) < 0)
        return -errno;
    return lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0;
}
