#include "rootfs/layer_apply.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/resolve.h"
#include "rootfs/whiteout.h"
#include "util/error.h"
#include "util/log.h"
#include "util/zero.h"

typedef struct apply_ctx {
    sm_tree *tree;
    sm_spool *spool;
    struct archive *ar;
    unsigned layer;
    sm_layer_budget *budget;
} apply_ctx;

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
static int charge(apply_ctx *c, uint64_t size)
{
    sm_layer_budget *b = c->budget;
    char h1[32], h2[32];
    if (size > b->max_file)
        return sm_fail(EFBIG, "a file of %s: more than the %s one file may have "
                       "(SUPERMACHINE_MAX_FILE_SIZE)", human(size, h1, sizeof h1),
                       human(b->max_file, h2, sizeof h2));
    if (size > b->max_total - b->total)
        return sm_fail(EFBIG, "the layers' files add up to more than %s "
                       "(SUPERMACHINE_MAX_IMAGE_SIZE)", human(b->max_total, h1, sizeof h1));
    b->total += size;
    return 0;
}

static int archive_fail(struct archive *ar, const char *what)
{
    const char *msg = archive_error_string(ar);
    int e = archive_errno(ar);
    return sm_fail(e > 0 ? e : EIO, "%s: %s", what, msg ? msg : "unknown libarchive error");
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
    sm_inode_clear_xattrs(in);
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

/* Every directory on the way to something this layer adds counts as entered
 * by it, so that an opaque marker of the same layer keeps it. */
static void stamp_path(sm_node *n, unsigned layer)
{
    for (; n; n = n->parent)
        n->layer = layer;
}

static int add_node(apply_ctx *c, sm_node *dir, const char *base, sm_inode *in)
{
    sm_node *n;
    int err = sm_node_add(c->tree, dir, base, strlen(base), in, &n);
    if (!err)
        n->layer = c->layer;
    return err;
}

static int spool_data(apply_ctx *c, struct archive_entry *e, sm_inode *in)
{
    la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
    if (size < 0)
        return sm_fail(EINVAL, "negative file size");
    int err = charge(c, (uint64_t)size);
    if (err)
        return err;
    uint64_t base = c->spool->len;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(c->ar, &buf, &len, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN)
            return archive_fail(c->ar, "truncated or corrupt layer");
        if (off < 0 || (uint64_t)off + len > (uint64_t)size)
            return sm_fail(EINVAL, "file data runs past its declared size");
        /* The spool is sparse: zeros (a bomb's, a sparse file's) stay holes. */
        if (sm_all_zero(buf, len))
            continue;
        err = sm_spool_pwrite(c->spool, buf, len, base + (uint64_t)off);
        if (err)
            return err;
    }
    in->data_off = base;
    in->size = (uint64_t)size;
    c->spool->len = base + (uint64_t)size;
    return 0;
}

static void drop_unlinked(sm_inode *in)
{
    in->refs = 1;
    sm_inode_put(in);
}

static int new_inode(apply_ctx *c, struct archive_entry *e, sm_inode **out)
{
    mode_t type = archive_entry_filetype(e);
    sm_inode *in = sm_inode_new(type);
    if (!in)
        return sm_fail(ENOMEM, "out of memory for the file tree");
    int err = set_meta(in, e);
    if (!err && S_ISREG(type))
        err = spool_data(c, e, in);
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
        drop_unlinked(in);
        return err;
    }
    *out = in;
    return 0;
}

/* A hard link names an earlier entry of this layer or a file of a lower one;
 * the name is resolved inside the tree like any other. */
static int apply_hardlink(apply_ctx *c, sm_node *dir, const char *base, sm_node *old,
                          const char *link)
{
    char path[PATH_MAX];
    sm_node *target;
    int err = sm_path_clean(link, path, sizeof path);
    if (err)
        return sm_fail_context(err, "hard link target");
    if (!*path || sm_tree_walk(c->tree, c->tree->root, path, 0, c->layer, &target) < 0)
        return sm_fail(ENOENT, "hard link to '%.200s', which does not exist", link);
    if (sm_node_is_dir(target))
        return sm_fail(EINVAL, "hard link to '%.200s', which is a directory", link);
    if (old == target || (old && old->inode == target->inode)) {
        old->layer = c->layer;
        return 0;
    }
    sm_inode *in = target->inode;
    in->refs++; /* `old` may hold the target's last other name */
    if (old)
        sm_node_remove(c->tree, old);
    err = add_node(c, dir, base, in);
    sm_inode_put(in);
    return err;
}

static int apply_dir(apply_ctx *c, struct archive_entry *e, sm_node *dir, const char *base,
                     sm_node *old)
{
    if (old && sm_node_is_dir(old)) { /* directories merge with the one below */
        old->layer = c->layer;
        return set_meta(old->inode, e);
    }
    if (old)
        sm_node_remove(c->tree, old);
    sm_inode *in;
    int err = new_inode(c, e, &in);
    if (!err) {
        err = add_node(c, dir, base, in);
        if (err)
            drop_unlinked(in);
    }
    return err;
}

static int apply_other(apply_ctx *c, struct archive_entry *e, sm_node *dir, const char *base,
                       sm_node *old)
{
    mode_t type = archive_entry_filetype(e);
    if (!S_ISREG(type) && !S_ISLNK(type) && !S_ISCHR(type) && !S_ISBLK(type) &&
        !S_ISFIFO(type)) {
        sm_debug("rootfs: skipping '%s' of unsupported type %o", base, (unsigned)type);
        return 0;
    }
    sm_inode *in;
    int err = new_inode(c, e, &in);
    if (err)
        return err;
    if (old)
        sm_node_remove(c->tree, old);
    err = add_node(c, dir, base, in);
    if (err)
        drop_unlinked(in);
    return err;
}

static int apply_root(apply_ctx *c, struct archive_entry *e)
{
    if (archive_entry_filetype(e) != AE_IFDIR)
        return sm_fail(EINVAL, "the root must be a directory");
    return set_meta(c->tree->root->inode, e);
}

static int apply_entry(apply_ctx *c, struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    char path[PATH_MAX];
    if (!name)
        return sm_fail(EINVAL, "entry without a name");
    int err = sm_path_clean(name, path, sizeof path);
    if (err)
        return err;
    if (!*path)
        return apply_root(c, e);
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    sm_node *dir = c->tree->root;
    bool whiteout = sm_is_whiteout(base);
    if (slash) {
        *slash = '\0';
        unsigned flags = SM_WALK_FOLLOW_LAST | (whiteout ? 0 : SM_WALK_CREATE);
        err = sm_tree_walk(c->tree, dir, path, flags, c->layer, &dir);
        if (err && whiteout) {
            sm_clear_error();
            return 0; /* nothing there to hide */
        }
        if (!err && !sm_node_is_dir(dir))
            err = sm_fail(ENOTDIR, "'%s' is not a directory", path);
        if (err)
            return err;
    }
    if (whiteout)
        return sm_whiteout_apply(c->tree, dir, base, c->layer);
    stamp_path(dir, c->layer);
    sm_node *old = sm_node_lookup(dir, base, strlen(base));
    const char *link = archive_entry_hardlink(e);
    if (link)
        return apply_hardlink(c, dir, base, old, link);
    if (archive_entry_filetype(e) == AE_IFDIR)
        return apply_dir(c, e, dir, base, old);
    return apply_other(c, e, dir, base, old);
}

static int open_layer(struct archive **out, const char *path)
{
    struct archive *ar = archive_read_new();
    if (!ar)
        return sm_fail(ENOMEM, "out of memory");
    /* The four that docker accepts; no filter that runs an external program. */
    archive_read_support_filter_gzip(ar);
    archive_read_support_filter_zstd(ar);
    archive_read_support_filter_xz(ar);
    archive_read_support_filter_bzip2(ar);
    archive_read_support_format_tar(ar);
    if (archive_read_open_filename(ar, path, 1 << 20) != ARCHIVE_OK) {
        /* Opening already reads the first block to recognise the format. */
        int e = archive_errno(ar);
        bool io = e > 0 && e != EILSEQ && e != EINVAL; /* libarchive: format, misuse */
        int err = archive_fail(ar, io ? "cannot read the layer" : "truncated or corrupt layer");
        archive_read_free(ar);
        return err;
    }
    *out = ar;
    return 0;
}

int sm_layer_apply(sm_tree *t, sm_spool *spool, const char *path, unsigned layer,
                   sm_layer_budget *budget)
{
    apply_ctx c = {.tree = t, .spool = spool, .layer = layer, .budget = budget};
    int err = open_layer(&c.ar, path);
    if (err)
        return err;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(c.ar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            err = archive_fail(c.ar, "truncated or corrupt layer");
            break;
        }
        err = apply_entry(&c, e);
        if (err) {
            const char *name = archive_entry_pathname(e);
            sm_fail_context(err, "entry '%.200s'", name ? name : "?");
            break;
        }
    }
    archive_read_free(c.ar);
    return err;
}
