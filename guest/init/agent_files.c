/* File operations: STAT, FILE_READ (streamed out; a directory reads as
 * its entries' names, one a line), FILE_WRITE (streamed in to a temporary
 * file that is renamed over the target at the end, so a reader never sees
 * half a file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_int.h"

static int reply_errno(conn *c, const char *what, const char *path)
{
    int err = errno;
    return conn_reply_error(c, err, "cannot %s %s: %s", what, path, strerror(err));
}

static int do_stat(conn *c, const sm_agent_file_req *r)
{
    struct stat st;
    if ((r->nofollow ? lstat : stat)(r->path, &st) < 0)
        return reply_errno(c, "stat", r->path);
    /* A symlink's target comes with it: a copy needs both, in one trip. */
    char target[SM_AGENT_TARGET_MAX + 1];
    ssize_t n = S_ISLNK(st.st_mode) ? readlink(r->path, target, sizeof target - 1) : -1;
    if (n >= 0)
        target[n] = '\0';
    sm_agent_encode_stat_reply(&c->out, &(sm_agent_stat_reply){
        .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid, .size = (uint64_t)st.st_size,
        .mtime = st.st_mtim.tv_sec, .mtime_nsec = (uint32_t)st.st_mtim.tv_nsec,
        .target = n > 0 ? target : NULL});
    return 0;
}

/* ---- read ---- */

/* A directory's entry names, "." and ".." left out, one a line (or each
 * ended by a NUL: a name may hold a newline), in an anonymous file read as
 * any other: listings (such as /proc's for `top`) then stream with no code
 * of their own. */
static int listing(int dir_fd, char end)
{
    int out = (int)syscall(SYS_memfd_create, "listing", 1u /* MFD_CLOEXEC */);
    DIR *d = out >= 0 ? fdopendir(dir_fd) : NULL;
    if (!d) {
        int err = errno;
        if (out >= 0)
            close(out);
        close(dir_fd);
        errno = err;
        return -1;
    }
    FILE *f = fdopen(dup(out), "w");
    struct dirent *e;
    while (f && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            fprintf(f, "%s%c", e->d_name, end);
    int err = !f || fclose(f) ? EIO : 0;
    closedir(d);
    if (err || lseek(out, 0, SEEK_SET) < 0) {
        close(out);
        errno = err ? err : errno;
        return -1;
    }
    return out;
}

static int start_read(conn *c, const sm_agent_file_req *r)
{
    /* O_NONBLOCK so that a FIFO cannot hang the agent in open(). */
    int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return reply_errno(c, "open", r->path);
    struct stat st;
    int err = fstat(fd, &st) < 0 ? errno : 0;
    if (!err && S_ISDIR(st.st_mode)) {
        if ((fd = listing(fd, r->names0 ? '\0' : '\n')) < 0)
            return reply_errno(c, "list", r->path);
        err = fstat(fd, &st) < 0 ? errno : 0;
    }
    if (!err && !S_ISREG(st.st_mode))
        err = EINVAL;
    if (err) {
        close(fd);
        return conn_reply_error(c, err, "cannot read %s: %s", r->path,
                                err == EINVAL ? "not a regular file" : strerror(err));
    }
    c->file.fd = fd;
    c->file.size = (uint64_t)st.st_size;
    c->state = S_READ;
    return 0;
}

static void end_read(conn *c)
{
    close(c->file.fd);
    c->file.fd = -1;
    c->state = S_IDLE;
}

bool files_pump(conn *c)
{
    if (c->state != S_READ || !conn_room(c, 4096))
        return false;
    sm_agent_frame_begin(&c->out, SM_AGENT_FILE_DATA, 0);
    size_t want = sm_agent_raw_room(&c->out);
    if (want > SM_AGENT_CHUNK)
        want = SM_AGENT_CHUNK;
    ssize_t n = read(c->file.fd, c->out.data + c->out.len, want);
    if (n < 0) {
        sm_agent_frame_cancel(&c->out);
        if (errno == EINTR)
            return true;
        reply_errno(c, "read", "the file");
        end_read(c);
        return true;
    }
    c->out.len += (size_t)n;
    /* A short read that reaches the size fstat gave is the end; no need for
     * one more read to see 0 (files like /proc's report size 0 and do). */
    uint64_t prev = c->file.size;
    c->file.size = prev >= (uint64_t)n ? prev - (uint64_t)n : 0;
    bool eof = n == 0 || ((size_t)n < want && prev > 0 && c->file.size == 0);
    if (eof)
        sm_agent_frame_flags(&c->out, SM_AGENT_F_EOF);
    sm_agent_frame_end(&c->out);
    if (eof)
        end_read(c);
    return true;
}

/* ---- write ---- */

int files_mkdir_parents(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -ENOMEM;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
            int err = -errno;
            free(p);
            return err;
        }
        *s = '/';
    }
    free(p);
    return 0;
}

/* "<dir>/.<name>.sm-tmp.<n>", beside the target so rename() is atomic. */
static char *tmp_name(agent *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = strlen(path) + 48;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%.*s.%s.sm-tmp.%lu", (int)dirlen, path, path + dirlen, ++a->tmp_seq);
    return t;
}

static int open_tmp(conn *c, const sm_agent_file_req *r)
{
    const char *base = strrchr(r->path, '/');
    if (!*(base ? base + 1 : r->path)) {
        errno = EISDIR;
        return -1;
    }
    c->file.tmp = tmp_name(c->a, r->path);
    c->file.path = strdup(r->path);
    if (!c->file.tmp || !c->file.path) {
        errno = ENOMEM;
        return -1;
    }
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    int fd = open(c->file.tmp, flags, r->mode);
    if (fd < 0 && errno == ENOENT && r->mkdirs) {
        int err = files_mkdir_parents(r->path);
        if (err) {
            errno = -err;
            return -1;
        }
        fd = open(c->file.tmp, flags, r->mode);
    }
    if (fd < 0)
        return -1;
    c->file.fd = fd;
    if (((r->mode & c->a->umask) && fchmod(fd, r->mode) < 0) ||
        ((r->uid >= 0 || r->gid >= 0) &&
         fchown(fd, r->uid >= 0 ? (uid_t)r->uid : (uid_t)-1,
                r->gid >= 0 ? (gid_t)r->gid : (gid_t)-1) < 0))
        return -1;
    return 0;
}

/* Forget the temporary file; remove it unless it was renamed. */
static void drop_write(conn *c, bool unlink_tmp)
{
    if (c->file.fd >= 0)
        close(c->file.fd);
    if (unlink_tmp && c->file.tmp)
        unlink(c->file.tmp);
    c->file.fd = -1;
    free(c->file.tmp);
    free(c->file.path);
    c->file.tmp = c->file.path = NULL;
}

static void write_failed(conn *c, const char *what)
{
    reply_errno(c, what, c->file.path ? c->file.path : "the file");
    drop_write(c, true);
    c->file.failed = true;
}

static int start_write(conn *c, const sm_agent_file_req *r)
{
    c->file.failed = false;
    c->file.size = 0;
    c->state = S_WRITE;
    if (open_tmp(c, r) < 0) {
        int err = errno;
        conn_reply_error(c, err, "cannot write %s: %s", r->path, strerror(err));
        drop_write(c, c->file.fd >= 0);
        c->file.failed = true;
    }
    return 0;
}

static void finish_write(conn *c)
{
    if (close(c->file.fd) < 0) {
        c->file.fd = -1;
        write_failed(c, "write");
        return;
    }
    c->file.fd = -1;
    if (rename(c->file.tmp, c->file.path) < 0) {
        write_failed(c, "replace");
        return;
    }
    sm_agent_encode_ok(&c->out, c->file.size);
    drop_write(c, false);
}

int files_frame(conn *c, const sm_agent_frame *f)
{
    if (f->type != SM_AGENT_FILE_DATA)
        return conn_fail(c, EPROTO, "expected FILE_DATA, not %s", sm_agent_type_name(f->type));
    for (size_t off = 0; !c->file.failed && off < f->len;) {
        ssize_t n = write(c->file.fd, f->payload + off, f->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            write_failed(c, "write");
            break;
        }
        off += (size_t)n;
        c->file.size += (uint64_t)n;
    }
    if (f->flags & SM_AGENT_F_EOF) {
        if (!c->file.failed)
            finish_write(c);
        c->state = S_IDLE;
    }
    return 0;
}

int files_begin(conn *c, const sm_agent_frame *f)
{
    sm_agent_file_req r;
    const char *why = "";
    if (sm_agent_decode_file_req(f, &r, &why) < 0)
        return conn_fail(c, EBADMSG, "bad %s: %s", sm_agent_type_name(f->type), why);
    if (f->type == SM_AGENT_STAT)
        return do_stat(c, &r);
    if (f->type == SM_AGENT_FILE_READ)
        return start_read(c, &r);
    if (f->type == SM_AGENT_MKDIR)
        return nodes_mkdir(c, &r);
    if (f->type == SM_AGENT_LINK)
        return nodes_link(c, &r);
    return start_write(c, &r);
}

void files_free(conn *c)
{
    if (c->state == S_READ || c->file.fd >= 0 || c->file.tmp) {
        bool writing = c->file.tmp != NULL;
        drop_write(c, writing);
    }
}
