#include "util/cpio.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util/error.h"

struct sm_cpio {
    struct archive *a;
    uint8_t *buf;
    size_t cap, used;
};

static la_ssize_t sink(struct archive *a, void *ctx, const void *data, size_t len)
{
    sm_cpio *c = ctx;
    if (c->used + len > c->cap) {
        size_t cap = c->cap ? c->cap : 65536;
        while (cap < c->used + len)
            cap *= 2;
        uint8_t *b = realloc(c->buf, cap);
        if (!b) {
            archive_set_error(a, ENOMEM, "out of memory");
            return -1;
        }
        c->buf = b;
        c->cap = cap;
    }
    memcpy(c->buf + c->used, data, len);
    c->used += len;
    return (la_ssize_t)len;
}

int sm_cpio_new(sm_cpio **out)
{
    sm_cpio *c = calloc(1, sizeof *c);
    if (!c || !(c->a = archive_write_new())) {
        free(c);
        return sm_fail(ENOMEM, "out of memory");
    }
    /* The kernel reads newc; padding to 512 would only add bytes. */
    if (archive_write_set_format_cpio_newc(c->a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(c->a, 0) != ARCHIVE_OK ||
        archive_write_open2(c->a, c, NULL, sink, NULL, NULL) != ARCHIVE_OK) {
        int err = sm_fail(EIO, "cannot start a cpio archive: %s", archive_error_string(c->a));
        sm_cpio_free(c);
        return err;
    }
    *out = c;
    return 0;
}

static int add(sm_cpio *c, const char *path, mode_t mode, const void *data, size_t len,
               const char *target, dev_t rdev)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return sm_fail(ENOMEM, "out of memory");
    archive_entry_set_pathname(e, path);
    archive_entry_set_mode(e, mode);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_nlink(e, S_ISDIR(mode) ? 2 : 1);
    if (target)
        archive_entry_set_symlink(e, target);
    if (rdev)
        archive_entry_set_rdev(e, rdev);
    int err = 0;
    if (archive_write_header(c->a, e) != ARCHIVE_OK ||
        (len && archive_write_data(c->a, data, len) != (la_ssize_t)len))
        err = sm_fail(EIO, "cannot add '%s' to the cpio archive: %s", path,
                      archive_error_string(c->a));
    archive_entry_free(e);
    return err;
}

int sm_cpio_add_dir(sm_cpio *c, const char *path, mode_t mode)
{
    return add(c, path, S_IFDIR | (mode & 07777), NULL, 0, NULL, 0);
}

int sm_cpio_add_file(sm_cpio *c, const char *path, mode_t mode, const void *data, size_t len)
{
    return add(c, path, S_IFREG | (mode & 07777), data, len, NULL, 0);
}

int sm_cpio_add_symlink(sm_cpio *c, const char *path, const char *target)
{
    return add(c, path, S_IFLNK | 0777, NULL, 0, target, 0);
}

int sm_cpio_add_chardev(sm_cpio *c, const char *path, mode_t mode, unsigned major,
                        unsigned minor)
{
    return add(c, path, S_IFCHR | (mode & 07777), NULL, 0, NULL, makedev(major, minor));
}

int sm_cpio_finish(sm_cpio *c, uint8_t **data, size_t *len)
{
    int err = 0;
    if (archive_write_close(c->a) != ARCHIVE_OK)
        err = sm_fail(EIO, "cannot finish the cpio archive: %s", archive_error_string(c->a));
    if (!err) {
        *data = c->buf;
        *len = c->used;
        c->buf = NULL;
    }
    sm_cpio_free(c);
    return err;
}

void sm_cpio_free(sm_cpio *c)
{
    if (!c)
        return;
    if (c->a)
        archive_write_free(c->a);
    free(c->buf);
    free(c);
}
