#include "rootfs/layer_decode.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/layer_archive.h"
#include "rootfs/resolve.h"
#include "rootfs/whiteout.h"
#include "util/error.h"
#include "util/log.h"
#include "util/test_point.h"
#include "util/zero.h"

/* Zero runs at least this long are left as holes in the image; shorter
 * ones are cheaper written along with their neighbours. */
#define HOLE_MIN 4096

typedef struct decoder {
    struct archive *ar;
    sm_data_writer *data;
    sm_layer_budget *budget;
} decoder;

/* "2.0 MiB", "1.0 TiB": sizes in a sentence. */
static const char *human(uint64_t n, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5)
        v /= 1024, u++;
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

/* Checked on the size a header declares, before a byte is read. */
static int charge(decoder *d, uint64_t size)
{
    sm_layer_budget *b = d->budget;
    char h1[32], h2[32];
    if (size > b->max_file)
        return sm_fail(EFBIG, "a file of %s: more than the %s one file may have "
                       "(SUPERMACHINE_MAX_FILE_SIZE)", human(size, h1, sizeof h1),
                       human(b->max_file, h2, sizeof h2));
    uint64_t before = __atomic_fetch_add(&b->total, size, __ATOMIC_RELAXED);
    if (size > b->max_total || before > b->max_total - size)
        return sm_fail(EFBIG, "the layers' files add up to more than %s "
                       "(SUPERMACHINE_MAX_IMAGE_SIZE)", human(b->max_total, h1, sizeof h1));
    return 0;
}

/* Namespaces an ext4 image can hold; anything else (e.g. a BSD "com.apple."
 * attribute) would only make the image writer fail. */
static bool keep_xattr(const char *name)
{
    static const char *const ok[] = {"user.", "trusted.", "security.", "system.posix_acl_"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strncmp(name, ok[i], strlen(ok[i])) == 0)
            return true;
    return false;
}

/* Copies mode bits, owner, times and xattrs; the file type stays. */
static int set_meta(sm_inode *in, struct archive_entry *e)
{
    la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
    /* ext4 ids are 32 bits; mapping a wild one to anything (root) would lie. */
    if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
        return sm_fail(EINVAL, "owner %lld:%lld is out of range", (long long)uid, (long long)gid);
    in->mode = (in->mode & S_IFMT) | (archive_entry_mode(e) & 07777);
    in->uid = (uint32_t)uid;
    in->gid = (uint32_t)gid;
    in->mtime = archive_entry_mtime(e);
    in->mtime_ns = (uint32_t)archive_entry_mtime_nsec(e);
    bool has_atime = archive_entry_atime_is_set(e);
    in->atime = has_atime ? archive_entry_atime(e) : in->mtime;
    in->atime_ns = has_atime ? (uint32_t)archive_entry_atime_nsec(e) : in->mtime_ns;
    const char *name;
    const void *value;
    size_t len;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &len) == ARCHIVE_OK) {
        if (!keep_xattr(name)) {
            sm_debug("rootfs: dropping xattr '%s'", name);
            continue;
        }
        int err = sm_inode_add_xattr(in, name, value, len);
        if (err)
            return err;
    }
    return 0;
}

static int read_data(decoder *d, struct archive_entry *e, sm_inode *in)
{
    la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0)
        return sm_fail(EINVAL, "negative file size");
    int err = charge(d, (uint64_t)size);
    if (err)
        return err;
    uint64_t base = sm_data_reserve(d->data, (uint64_t)size);
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(d->ar, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return sm_layer_archive_fail(d->ar, "truncated or corrupt layer");
        if (off < 0 || (uint64_t)off + len > (uint64_t)size)
            return sm_fail(EINVAL, "file data runs past its declared size");
        /* The image is sparse: zeros (a bomb's, a sparse file's) stay holes. */
        if (len >= HOLE_MIN && sm_all_zero(buf, len))
            continue;
        err = sm_data_put(d->data, buf, len, base + (uint64_t)off);
        if (err)
            return err;
    }
    in->data_off = base;
    in->size = (uint64_t)size;
    return 0;
}

static void drop(sm_inode *in)
{
    in->refs = 1;
    sm_inode_put(in);
}

static int new_inode(decoder *d, struct archive_entry *e, sm_inode **out)
{
    mode_t type = archive_entry_filetype(e);
    sm_inode *in = sm_inode_new(type);
    if (!in)
        return sm_fail(ENOMEM, "out of memory for the file tree");
    int err = set_meta(in, e);
    if (!err && S_ISREG(type))
        err = read_data(d, e, in);
    if (!err && S_ISLNK(type)) {
        const char *target = archive_entry_symlink(e);
        size_t len = target ? strlen(target) : 0;
        if (len == 0 || len >= 4096)
            err = sm_fail(EINVAL, "symlink with %s target", len ? "an over-long" : "an empty");
        else if (!(in->target = strdup(target)))
            err = sm_fail(ENOMEM, "out of memory for the file tree");
        in->size = len;
        in->mode = S_IFLNK | 0777; /* what symlink(2) gives; Linux ignores them anyway */
    }
    if (!err && (S_ISCHR(type) || S_ISBLK(type)))
        in->rdev = archive_entry_rdev(e);
    if (err) {
        drop(in);
        return err;
    }
    *out = in;
    return 0;
}

static bool supported(mode_t type)
{
    return S_ISDIR(type) || S_ISREG(type) || S_ISLNK(type) || S_ISCHR(type) ||
           S_ISBLK(type) || S_ISFIFO(type);
}

/* What the entry is; its inode read when it makes one. */
static int classify(decoder *d, struct archive_entry *e, const char *path, sm_layer_entry *out)
{
    const char *slash = strrchr(path, '/');
    mode_t type = archive_entry_filetype(e);
    if (!*path) {
        if (type != AE_IFDIR)
            return sm_fail(EINVAL, "the root must be a directory");
        out->kind = SM_ENTRY_ROOT;
    } else if (sm_is_whiteout(slash ? slash + 1 : path)) {
        out->kind = SM_ENTRY_WHITEOUT;
        return 0;
    } else if (archive_entry_hardlink(e)) {
        out->kind = SM_ENTRY_LINK;
        return (out->link = strdup(archive_entry_hardlink(e))) ? 0
               : sm_fail(ENOMEM, "out of memory for the file tree");
    } else if (!supported(type)) {
        sm_debug("rootfs: skipping '%s' of unsupported type %o", path, (unsigned)type);
        out->kind = SM_ENTRY_SKIP;
        return 0;
    } else {
        out->kind = S_ISDIR(type) ? SM_ENTRY_DIR : SM_ENTRY_OTHER;
    }
    return new_inode(d, e, &out->inode);
}

static void entry_free(sm_layer_entry *x)
{
    free(x->path);
    free(x->name);
    free(x->link);
    if (x->inode)
        drop(x->inode);
}

static int add_entry(decoder *d, struct archive_entry *e, sm_layer_entries *out)
{
    const char *name = archive_entry_pathname(e);
    char path[PATH_MAX];
    if (!name)
        return sm_fail(EINVAL, "entry without a name");
    int err = sm_path_clean(name, path, sizeof path);
    if (err)
        return err;
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 256;
        sm_layer_entry *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return sm_fail(ENOMEM, "out of memory for the file tree");
        out->v = v, out->cap = cap;
    }
    sm_layer_entry x = {.path = strdup(path), .name = strdup(name)};
    err = x.path && x.name ? classify(d, e, path, &x)
                           : sm_fail(ENOMEM, "out of memory for the file tree");
    if (err) {
        entry_free(&x);
        return err;
    }
    out->v[out->n++] = x;
    return 0;
}

static int read_entries(decoder *d, sm_layer_entries *out)
{
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(d->ar, &e);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return sm_layer_archive_fail(d->ar, "truncated or corrupt layer");
        int err = add_entry(d, e, out);
        if (!err && out->n == 1)
            sm_test_point("decode");
        if (err) {
            const char *name = archive_entry_pathname(e);
            return sm_fail_context(err, "entry '%.200s'", name ? name : "?");
        }
    }
}

int sm_layer_decode(const char *path, sm_file_feed *feed, sm_data_writer *data,
                    sm_layer_budget *budget, sm_layer_entries *out)
{
    memset(out, 0, sizeof *out);
    decoder d = {.data = data, .budget = budget};
    sm_layer_archive la;
    int err = sm_layer_archive_open(&la, path, feed, &budget->cores);
    if (!err) {
        d.ar = la.ar;
        err = read_entries(&d, out);
        sm_layer_archive_close(&la);
    }
    int ferr = sm_data_writer_flush(data);
    if (!err)
        err = ferr;
    if (err) {
        out->err = err;
        out->why = strdup(sm_error_text());
    }
    return err;
}

void sm_layer_entries_free(sm_layer_entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        entry_free(&e->v[i]);
    free(e->v);
    free(e->why);
    memset(e, 0, sizeof *e);
}
