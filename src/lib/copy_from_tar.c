/* A tar stream into the guest (docker cp - VM:DIR), read by libarchive:
 * directories by MKDIR, files by FILE_WRITE straight from the stream,
 * symlinks and hard links by LINK; parents are made as needed. As docker
 * does, a name that is absolute or climbs with ".." fails the copy. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/copy.h"
#include "util/error.h"

/* `name` under dir, "." and empty parts dropped: malloc'd, or NULL with
 * the error set; *top says nothing was left (the directory itself). */
static char *guest_path(const char *dir, const char *name, bool *top)
{
    if (!name || name[0] == '/') {
        sm_fail(EINVAL, "refused the tar entry %.200s: an absolute name", name ? name : "");
        return NULL;
    }
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/')
        dlen--;
    char *out = malloc(dlen + strlen(name) + 2), *copy = strdup(name), *save = NULL;
    if (!out || !copy) {
        free(out);
        free(copy);
        sm_fail(ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(out, dir, dlen);
    size_t len = dlen == 1 && dir[0] == '/' ? 0 : dlen;
    *top = true;
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, "."))
            continue;
        if (!strcmp(part, "..")) {
            sm_fail(EINVAL, "refused the tar entry %.200s: it climbs out with ..", name);
            free(out);
            free(copy);
            return NULL;
        }
        out[len++] = '/';
        strcpy(out + len, part);
        len += strlen(part);
        *top = false;
    }
    out[*top ? dlen : len] = '\0';
    free(copy);
    return out;
}

static ssize_t from_archive(void *ctx, void *buf, size_t len)
{
    la_ssize_t n = archive_read_data(ctx, buf, len);
    if (n < 0)
        return sm_fail(EINVAL, "cannot read the tar stream: %s", archive_error_string(ctx));
    return n;
}

static int owner(struct archive_entry *e, bool archive, sm_agent_file_req *req)
{
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    if (!archive)
        return 0;
    if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
        return sm_fail(EINVAL, "refused the tar entry %.200s: its owner is out of range",
                       archive_entry_pathname(e));
    req->uid = uid;
    req->gid = gid;
    return 0;
}

static int hard_link(sm_agent_conn *c, const char *dir, sm_agent_file_req *req,
                     const char *to)
{
    bool top;
    char *target = guest_path(dir, to, &top);
    if (!target)
        return -EINVAL;
    req->target = target;
    req->hard = true;
    int err = sm_agent_link(c, req);
    free(target);
    return err;
}

static int entry(sm_agent_conn *c, struct archive *a, struct archive_entry *e, const char *dir,
                 bool archive)
{
    bool top;
    char *path = guest_path(dir, archive_entry_pathname(e), &top);
    if (!path)
        return -EINVAL;
    sm_agent_file_req req = {.path = path, .mode = archive_entry_perm(e) & 07777,
                             .mkdirs = true, .uid = -1, .gid = -1};
    mode_t type = archive_entry_filetype(e);
    int err = owner(e, archive, &req);
    if (err || (top && type == AE_IFDIR))
        ;  /* the destination itself is left as it is */
    else if (top)
        err = sm_fail(EINVAL, "refused the tar entry %.200s: not a directory",
                      archive_entry_pathname(e));
    else if (archive_entry_hardlink(e))
        err = hard_link(c, dir, &req, archive_entry_hardlink(e));
    else if (type == AE_IFDIR)
        err = sm_agent_mkdir(c, &req);
    else if (type == AE_IFREG)
        err = sm_agent_write_file_src(c, &req, from_archive, a);
    else if (type == AE_IFLNK && (req.target = archive_entry_symlink(e)) && *req.target)
        err = sm_agent_link(c, &req);
    else
        err = sm_fail(EINVAL, "refused the tar entry %.200s: only files, directories and links "
                      "are copied", archive_entry_pathname(e));
    free(path);
    return err;
}

int copy_tar_guest(sm_agent_conn *c, int fd, const char *dir, bool archive)
{
    struct archive *a = archive_read_new();
    if (!a)
        return sm_fail(ENOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int err = 0, r = archive_read_open_fd(a, fd, 64 << 10);
    struct archive_entry *e;
    while (!err && r >= ARCHIVE_WARN && r != ARCHIVE_EOF) {
        r = archive_read_next_header(a, &e);
        if (r >= ARCHIVE_WARN && r != ARCHIVE_EOF)
            err = entry(c, a, e, dir, archive);
    }
    if (!err && r != ARCHIVE_EOF)
        err = sm_fail(EINVAL, "not a tar stream: %s",
                      archive_error_string(a) ? archive_error_string(a) : "unreadable");
    archive_read_free(a);
    return err;
}
