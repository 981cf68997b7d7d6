/* A copy out of the VM as a tar stream (docker cp VM:SRC -): the guest's
 * walk written by libarchive, pax format. A file's header carries the
 * size the guest's stat gave; libarchive cuts longer data. Shorter data
 * fails the copy rather than be padded: a guest claiming a huge size must
 * not make the host write that much. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/copy.h"
#include "util/error.h"

typedef struct tar_out {
    struct archive *a;
    struct archive_entry *e;
    uint64_t got;   /* bytes of the current file */
} tar_out;

static int archive_fail(tar_out *t, const char *what)
{
    return sm_fail(EIO, "cannot write the tar stream (%s): %s", what,
                   archive_error_string(t->a) ? archive_error_string(t->a) : "error");
}

/* parent is the directory's name in the stream (NULL at the top). */
static char *name_in(void *parent, const char *name)
{
    return parent ? copy_join(parent, name) : strdup(name);
}

static int header(tar_out *t, const char *rel, const sm_agent_stat_reply *st, mode_t type,
                  const char *target)
{
    archive_entry_clear(t->e);
    archive_entry_set_pathname(t->e, rel);
    archive_entry_set_filetype(t->e, type);
    archive_entry_set_perm(t->e, st->mode & 07777);
    archive_entry_set_uid(t->e, st->uid);
    archive_entry_set_gid(t->e, st->gid);
    archive_entry_set_mtime(t->e, (time_t)st->mtime, st->mtime_nsec);
    archive_entry_set_size(t->e, type == AE_IFREG ? (la_int64_t)st->size : 0);
    if (target)
        archive_entry_set_symlink(t->e, target);
    return archive_write_header(t->a, t->e) == ARCHIVE_OK ? 0 : archive_fail(t, rel);
}

static int tar_dir(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                   void **child)
{
    char *rel = name_in(parent, name);
    int err = rel ? header(ctx, rel, st, AE_IFDIR, NULL) : sm_fail(ENOMEM, "out of memory");
    if (err)
        free(rel);
    else
        *child = rel;
    return err;
}

static int tar_dir_end(void *ctx, void *dir, const sm_agent_stat_reply *st)
{
    (void)ctx, (void)st;
    free(dir);
    return 0;
}

static int to_archive(void *ctx, const void *data, size_t len)
{
    tar_out *t = ctx;
    t->got += len;
    /* Past the header's size libarchive takes nothing more: not an error. */
    return archive_write_data(t->a, data, len) < 0 ? archive_fail(t, "data") : 0;
}

static int tar_file(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                    sm_agent_conn *c, const char *path)
{
    char *rel = name_in(parent, name);
    int err = rel ? header(ctx, rel, st, AE_IFREG, NULL) : sm_fail(ENOMEM, "out of memory");
    tar_out *t = ctx;
    t->got = 0;
    if (!err)
        err = sm_agent_read_file(c, path, to_archive, ctx);
    if (!err && t->got < st->size)
        err = sm_fail(EIO, "%.200s shrank while it was copied", path);
    free(rel);
    return err;
}

static int tar_link(void *ctx, void *parent, const char *name, const sm_agent_stat_reply *st,
                    const char *target)
{
    char *rel = name_in(parent, name);
    int err = rel ? header(ctx, rel, st, AE_IFLNK, target) : sm_fail(ENOMEM, "out of memory");
    free(rel);
    return err;
}

int copy_guest_tar(sm_agent_conn *c, const char *path, const sm_agent_stat_reply *st,
                   const char *name, int fd)
{
    tar_out t = {archive_write_new(), archive_entry_new()};
    if (!t.a || !t.e) {
        archive_write_free(t.a);
        archive_entry_free(t.e);
        return sm_fail(ENOMEM, "out of memory");
    }
    int err = archive_write_set_format_pax_restricted(t.a) != ARCHIVE_OK ||
                      archive_write_open_fd(t.a, fd) != ARCHIVE_OK
                  ? archive_fail(&t, "opening")
                  : 0;
    copy_sink s = {.ctx = &t, .dir = tar_dir, .dir_end = tar_dir_end, .file = tar_file,
                   .link = tar_link};
    if (!err)
        err = copy_guest_entry(c, path, st, &s, NULL, name);
    if (err)
        archive_write_fail(t.a);  /* no padding, no end: the stream is cut */
    else if (archive_write_close(t.a) != ARCHIVE_OK)
        err = archive_fail(&t, "closing");
    archive_write_free(t.a);
    archive_entry_free(t.e);
    return err;
}
