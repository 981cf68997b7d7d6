#include "snapshot/snap_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "util/error.h"

#define TEMP_MARK ".tmp-"

int sm_snap_dir_begin(const char *final, sm_snap_dir_tx *tx)
{
    const char *slash = strrchr(final, '/');
    int dirlen = slash ? (int)(slash - final + 1) : 0;
    const char *base = slash ? slash + 1 : final;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return sm_fail(EINVAL, "snapshot path %s does not name a directory", final);
    int n1 = snprintf(tx->final, sizeof tx->final, "%s", final);
    int n2 = snprintf(tx->tmp, sizeof tx->tmp, "%.*s.%s" TEMP_MARK "XXXXXX", dirlen, final, base);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof tx->final || (size_t)n2 >= sizeof tx->tmp)
        return sm_fail(ENAMETOOLONG, "snapshot path too long: %s", final);
    if (!mkdtemp(tx->tmp))
        return sm_fail(errno, "cannot create a temporary snapshot directory next to %s: %s",
                       final, strerror(errno));
    return 0;
}

int sm_snap_dir_file(const sm_snap_dir_tx *tx, const char *name, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", tx->tmp, name);
    if (n < 0 || (size_t)n >= size)
        return sm_fail(ENAMETOOLONG, "snapshot path too long: %s/%s", tx->tmp, name);
    return 0;
}

void sm_snap_dir_abort(sm_snap_dir_tx *tx)
{
    DIR *d = opendir(tx->tmp);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    rmdir(tx->tmp);
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "cannot open directory %s: %s", path, strerror(errno));
    int rc = fsync(fd) < 0 ? sm_fail(errno, "cannot fsync %s: %s", path, strerror(errno)) : 0;
    close(fd);
    return rc;
}

int sm_snap_dir_commit(sm_snap_dir_tx *tx)
{
    int rc = fsync_dir(tx->tmp);
    if (rc < 0)
        goto fail;
    /* NOREPLACE: of two concurrent bakes the first rename wins whole. */
    if (renameat2(AT_FDCWD, tx->tmp, AT_FDCWD, tx->final, RENAME_NOREPLACE) < 0) {
        int e = errno;
        if (e == EINVAL || e == ENOSYS) {  /* filesystem without NOREPLACE */
            struct stat st;
            e = lstat(tx->final, &st) == 0 ? EEXIST
                : rename(tx->tmp, tx->final) == 0 ? 0 : errno;
        }
        if (e == EEXIST || e == ENOTEMPTY) {
            rc = sm_fail(EEXIST, "snapshot %s already exists", tx->final);
            goto fail;
        }
        if (e) {
            rc = sm_fail(e, "cannot rename %s to %s: %s", tx->tmp, tx->final, strerror(e));
            goto fail;
        }
    }
    return sm_file_fsync_dir_of(tx->final);
fail:
    sm_snap_dir_abort(tx);
    return rc;
}

int sm_snap_dir_remove(const char *path)
{
    sm_snap_dir_tx tx;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    /* First out of sight under a temp name, in one step, so nobody finds
     * a half-deleted snapshot; then the files. */
    int n = snprintf(tx.tmp, sizeof tx.tmp, "%.*s.%s" TEMP_MARK "del%d", dirlen, path,
                     slash ? slash + 1 : path, (int)getpid());
    if (n < 0 || (size_t)n >= sizeof tx.tmp)
        return sm_fail(ENAMETOOLONG, "snapshot path too long: %s", path);
    if (rename(path, tx.tmp) < 0)
        return errno == ENOENT ? 0 : sm_fail(errno, "cannot remove snapshot %s: %s", path,
                                             strerror(errno));
    sm_snap_dir_abort(&tx);
    return 0;
}

int sm_snap_dir_is_temp_name(const char *name)
{
    return name[0] == '.' && strstr(name, TEMP_MARK) != NULL;
}

/* A snapshot's files become guest memory and device state: only what this
 * user made, and nobody else can change, is read. Symlinks are not
 * followed (one could name another user's file, or /dev/zero). */
int sm_snap_file_trusted(const char *path, bool dir)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return sm_fail(errno, "%s: %s", path, strerror(errno));
    if (S_ISLNK(st.st_mode))
        return sm_fail(ELOOP, "%s is a symlink: a snapshot's files must be its own", path);
    if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return sm_fail(EINVAL, "%s is not a %s", path, dir ? "directory" : "regular file");
    if (st.st_uid != geteuid())
        return sm_fail(EPERM, "%s is owned by uid %u, not by this user (%u): refusing to "
                       "trust it", path, (unsigned)st.st_uid, (unsigned)geteuid());
    if (st.st_mode & 022)
        return sm_fail(EPERM, "%s can be written by other users (mode %04o): refusing to "
                       "trust it", path, (unsigned)(st.st_mode & 07777));
    return 0;
}

int sm_snap_dir_check(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (sm_snap_dir_is_temp_name(slash ? slash + 1 : path))
        return sm_fail(ENOENT, "%s is an unfinished snapshot (left by an interrupted "
                       "bake); remove it", path);
    static const char *const names[] = {SM_SNAP_META_FILE, SM_SNAP_MEMORY_FILE,
                                        SM_SNAP_STATE_FILE};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[PATH_MAX];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", path, names[i]) >= (int)sizeof p)
            return sm_fail(ENAMETOOLONG, "snapshot path too long: %s", path);
        if (lstat(p, &st) < 0)
            return sm_fail(ENOENT, "%s is not a snapshot: %s is missing", path, names[i]);
        int err = sm_snap_file_trusted(p, false);
        if (err)
            return err;
    }
    return sm_snap_file_trusted(path, true);
}

#define PAGE 4096u

static int page_is_zero(const uint8_t *p, size_t n)
{
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t len, off_t off, const char *path)
{
    int err = sm_pwrite_all(fd, p, len, (uint64_t)off);
    return err ? sm_fail(-err, "cannot write %s: %s", path, strerror(-err)) : 0;
}

/* Writes each run of non-zero pages of [off, stop) with one pwrite; zero
 * pages are never written, so they stay holes once the file is sized. */
static int write_nonzero(int fd, const uint8_t *ram, size_t off, size_t stop,
                         const char *path)
{
    while (off < stop) {
        size_t n = stop - off < PAGE ? stop - off : PAGE;
        if (page_is_zero(ram + off, n)) {
            off += n;
            continue;
        }
        size_t end = off + n;
        while (end < stop) {
            size_t m = stop - end < PAGE ? stop - end : PAGE;
            if (page_is_zero(ram + end, m))
                break;
            end += m;
        }
        int rc = pwrite_all(fd, ram + off, end - off, (off_t)off, path);
        if (rc < 0)
            return rc;
        off = end;
    }
    return 0;
}

static int write_runs(int fd, const uint8_t *ram, size_t len, const sm_snap_run *runs,
                      size_t nruns, const char *path)
{
    int rc = 0;
    if (!runs)
        rc = write_nonzero(fd, ram, 0, len, path);
    for (size_t i = 0; runs && i < nruns && !rc; i++) {
        if (runs[i].off > len || runs[i].len > len - runs[i].off)
            return sm_fail(EINVAL, "memory run %zu lies outside guest RAM", i);
        rc = write_nonzero(fd, ram, runs[i].off, runs[i].off + runs[i].len, path);
    }
    if (rc)
        return rc;
    return ftruncate(fd, (off_t)len) < 0
        ? sm_fail(errno, "cannot size %s: %s", path, strerror(errno)) : 0;
}

int sm_snap_memory_write(const char *path, const void *ram, size_t len, uint64_t *allocated)
{
    return sm_snap_memory_write_runs(path, ram, len, NULL, 0, allocated);
}

int sm_snap_memory_write_fd(int fd, const char *name, const void *ram, size_t len,
                            const sm_snap_run *runs, size_t nruns)
{
    int rc = write_runs(fd, ram, len, runs, nruns, name);
    if (rc == 0 && fsync(fd) < 0)
        rc = sm_fail(errno, "cannot fsync %s: %s", name, strerror(errno));
    return rc;
}

int sm_snap_memory_write_runs(const char *path, const void *ram, size_t len,
                              const sm_snap_run *runs, size_t nruns, uint64_t *allocated)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return sm_fail(errno, "cannot create %s: %s", path, strerror(errno));
    int rc = sm_snap_memory_write_fd(fd, path, ram, len, runs, nruns);
    struct stat st;
    if (rc == 0 && fstat(fd, &st) < 0)
        rc = sm_fail(errno, "cannot stat %s: %s", path, strerror(errno));
    if (rc == 0 && allocated)
        *allocated = (uint64_t)st.st_blocks * 512;
    close(fd);
    return rc;
}
