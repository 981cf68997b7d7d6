#include "oci/store.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

int sm_store_default_root(char *out, size_t len)
{
    const char *dir = getenv("SUPERMACHINE_DATA_DIR");
    if (dir && *dir) {
        snprintf(out, len, "%s", dir);
        return 0;
    }
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/') {
        snprintf(out, len, "%s/supermachine", xdg);
        return 0;
    }
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return sm_fail(ENOENT, "cannot find a data directory: set HOME, XDG_DATA_HOME or "
                       "SUPERMACHINE_DATA_DIR");
    snprintf(out, len, "%s/.local/share/supermachine", home);
    return 0;
}

/* The directories up to `private` are made as the user's umask says; it
 * and those below it are the user's alone (0700), so that no other user
 * reads the images or takes the store's locks. */
static int mkdir_p(const char *path, size_t private_len)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        mode_t mode = (size_t)(p - buf) >= private_len ? 0700 : 0755;
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return sm_fail(errno, "cannot create directory '%s': %s", buf, strerror(errno));
        *p = c;
        if (!c)
            return 0;
    }
}

/* A store from before it was made private: closed to other users, when it
 * is this user's (one named by SUPERMACHINE_DATA_DIR that another owns is
 * the user's choice and left as it is). */
static void make_private(const char *root)
{
    struct stat st;
    if (stat(root, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077))
        (void)chmod(root, st.st_mode & 0700);
}

int sm_store_open(sm_store *s, const char *root, sm_store_mode mode)
{
    s->lock_fd = -1;
    int err = root ? 0 : sm_store_default_root(s->root, sizeof s->root);
    if (root)
        snprintf(s->root, sizeof s->root, "%s", root);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/blobs/sha256", s->root);
    if (err || (err = mkdir_p(path, strlen(s->root))))
        return err;
    make_private(s->root);
    snprintf(path, sizeof path, "%s/lock", s->root);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0)
        return sm_fail(errno, "cannot open the store lock '%s': %s", path, strerror(errno));
    (void)fchmod(s->lock_fd, 0600);  /* one made 0644 by an older version */
    int op = mode == SM_STORE_EXCLUSIVE ? LOCK_EX : LOCK_SH;
    if (flock(s->lock_fd, op | LOCK_NB) < 0) {
        sm_debug("waiting for the image store lock (%s)", path);
        while (flock(s->lock_fd, op) < 0) {
            if (errno == EINTR)
                continue;
            err = sm_fail(errno, "cannot lock the image store '%s': %s", path, strerror(errno));
            sm_store_close(s);
            return err;
        }
    }
    return 0;
}

void sm_store_close(sm_store *s)
{
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    s->lock_fd = -1;
}

void sm_store_blob_path(const sm_store *s, const char *digest, char *out, size_t len)
{
    snprintf(out, len, "%s/blobs/sha256/%s", s->root, sm_digest_hex(digest));
}

bool sm_store_has_blob(const sm_store *s, const char *digest)
{
    char path[PATH_MAX];
    sm_store_blob_path(s, digest, path, sizeof path);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int read_all(int fd, char *buf, size_t len, const char *path)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sm_fail(errno, "cannot read '%s': %s", path, strerror(errno));
        if (n == 0)
            return sm_fail(EIO, "'%s' changed while being read", path);
        got += (size_t)n;
    }
    return 0;
}

int sm_store_read_blob(const sm_store *s, const char *digest, size_t max,
                       char **data, size_t *len)
{
    char path[PATH_MAX];
    sm_store_blob_path(s, digest, path, sizeof path);
    *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "blob %s is not in the image store (%s)", digest, strerror(errno));
    struct stat st;
    int err = fstat(fd, &st) < 0 ? sm_fail(errno, "cannot stat '%s'", path) : 0;
    if (!err && (uint64_t)st.st_size > max)
        err = sm_fail(EFBIG, "blob %s is %" PRIu64 " bytes, more than the %zu allowed", digest,
                      (uint64_t)st.st_size, max);
    char *buf = err ? NULL : malloc((size_t)st.st_size + 1);
    if (!err && !buf)
        err = sm_fail(ENOMEM, "out of memory reading blob %s", digest);
    if (!err)
        err = read_all(fd, buf, (size_t)st.st_size, path);
    close(fd);
    char actual[SM_DIGEST_STR];
    if (!err) {
        sm_digest_of(buf, (size_t)st.st_size, actual);
        if (strcmp(actual, digest) != 0)
            err = sm_fail(EBADMSG, "blob %s in the image store is corrupt (its content hashes "
                          "to %s); remove the image and pull it again", digest, actual);
    }
    if (err) {
        free(buf);
        return err;
    }
    buf[st.st_size] = '\0';
    *data = buf;
    *len = (size_t)st.st_size;
    return 0;
}

int sm_blob_writer_open(sm_blob_writer *w, const sm_store *s, const char *what,
                        const char *expect_digest, int64_t expect_size)
{
    memset(w, 0, sizeof *w);
    w->store = s;
    w->fd = -1;
    w->expect_size = expect_size;
    snprintf(w->what, sizeof w->what, "%s", what);
    snprintf(w->expect, sizeof w->expect, "%s", expect_digest ? expect_digest : "");
    snprintf(w->tmp, sizeof w->tmp, "%s/blobs/sha256/.partial-XXXXXX", s->root);
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0) {
        int err = sm_fail(errno, "cannot create a file in the image store (%s): %s", w->tmp,
                          strerror(errno));
        w->tmp[0] = '\0';
        return err;
    }
    int err = sm_hasher_init(&w->hash);
    if (err)
        sm_blob_writer_abort(w);
    return err;
}

int sm_blob_writer_write(sm_blob_writer *w, const void *data, size_t len)
{
    if (w->expect_size >= 0 && w->written + len > (uint64_t)w->expect_size)
        return sm_fail(EBADMSG, "%s is larger than the %" PRId64 " bytes its descriptor "
                       "declares", w->what, w->expect_size);
    sm_hasher_update(&w->hash, data, len);
    const char *p = data;
    while (len) {
        ssize_t n = write(w->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return sm_fail(errno, "cannot write %s to the image store: %s", w->what,
                           strerror(errno));
        p += n, len -= (size_t)n, w->written += (uint64_t)n;
    }
    return 0;
}

int sm_blob_writer_reset(sm_blob_writer *w)
{
    char scratch[SM_DIGEST_STR];
    sm_hasher_final(&w->hash, scratch);   /* discards and restarts the hash */
    w->written = 0;
    if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
        return sm_fail(errno, "cannot restart %s: %s", w->what, strerror(errno));
    return 0;
}

static int verify(sm_blob_writer *w, char actual[SM_DIGEST_STR])
{
    sm_hasher_final(&w->hash, actual);
    if (w->expect_size >= 0 && w->written != (uint64_t)w->expect_size)
        return sm_fail(EBADMSG, "%s is truncated: got %" PRIu64 " of the %" PRId64 " bytes "
                       "its descriptor declares", w->what, w->written, w->expect_size);
    if (w->expect[0] && strcmp(actual, w->expect) != 0)
        return sm_fail(EBADMSG, "%s does not match its digest: expected %s, got %s", w->what,
                       w->expect, actual);
    return 0;
}

int sm_blob_writer_commit(sm_blob_writer *w, char digest[SM_DIGEST_STR])
{
    char actual[SM_DIGEST_STR], path[PATH_MAX];
    int err = verify(w, actual);
    if (!err && (fchmod(w->fd, 0444) < 0 || fsync(w->fd) < 0))
        err = sm_fail(errno, "cannot sync %s to disk: %s", w->what, strerror(errno));
    if (!err) {
        sm_store_blob_path(w->store, actual, path, sizeof path);
        if (rename(w->tmp, path) < 0)
            err = sm_fail(errno, "cannot move %s into the image store: %s", w->what,
                          strerror(errno));
        else
            w->tmp[0] = '\0';
    }
    if (!err)
        err = sm_file_fsync_dir_of(path);
    if (!err && digest)
        memcpy(digest, actual, SM_DIGEST_STR);
    sm_blob_writer_abort(w);
    return err;
}

void sm_blob_writer_abort(sm_blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp[0])
        unlink(w->tmp);
    w->tmp[0] = '\0';
    if (w->hash.ctx)
        sm_hasher_free(&w->hash);
}

int sm_store_put_blob(const sm_store *s, const char *what, const void *data, size_t len,
                      const char *expect_digest, char digest[SM_DIGEST_STR])
{
    sm_blob_writer w;
    int err = sm_blob_writer_open(&w, s, what, expect_digest, (int64_t)len);
    if (!err)
        err = sm_blob_writer_write(&w, data, len);
    if (err) {
        sm_blob_writer_abort(&w);
        return err;
    }
    return sm_blob_writer_commit(&w, digest);
}

