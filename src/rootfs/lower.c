/* Lookups follow overlayfs's rules for lower layers: the topmost entry of
 * a name decides what it is; a whiteout (a 0:0 character device) hides the
 * name; a directory merges with the directories of the same name below it
 * until one is opaque or a layer holds a non-directory there. */
#include "rootfs/lower.h"

#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rootfs/ext4.h"
#include "util/error.h"

/* Generous: the cache caps chains far below this (SM_ROOTFS_MAX_CHAIN). */
#define MAX_LAYERS 16

struct sm_lower {
    ext2_filsys fs[MAX_LAYERS];
    const char *names[MAX_LAYERS];
    size_t n;
};

/* A directory of one layer taking part in the merged directory. */
typedef struct layer_dir {
    size_t layer;
    ext2_ino_t ino;
} layer_dir;

static int ext2_fail(errcode_t e, const char *image)
{
    return sm_fail(sm_ext2_errno(e), "cannot read the image %s: %s", image,
                   sm_ext2_strerror(e));
}

int sm_lower_open(const char *const *images, size_t n, sm_lower **out)
{
    if (n == 0 || n > MAX_LAYERS)
        return sm_fail(EINVAL, "a chain of %zu images cannot be read (1 to %d)", n, MAX_LAYERS);
    sm_lower *l = calloc(1, sizeof *l);
    if (!l)
        return sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        errcode_t e = ext2fs_open(images[i], EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &l->fs[i]);
        if (e) {
            int err = ext2_fail(e, images[i]);
            sm_lower_close(l);
            return err;
        }
        l->names[i] = images[i];
        l->n = i + 1;
    }
    *out = l;
    return 0;
}

void sm_lower_close(sm_lower *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        ext2fs_close_free(&l->fs[i]);
    free(l);
}

static int read_inode(sm_lower *l, size_t layer, ext2_ino_t ino, struct ext2_inode_large *ei)
{
    memset(ei, 0, sizeof *ei);
    errcode_t e = ext2fs_read_inode_full(l->fs[layer], ino, (struct ext2_inode *)ei, sizeof *ei);
    return e ? ext2_fail(e, l->names[layer]) : 0;
}

static bool is_whiteout(const struct ext2_inode_large *ei)
{
    /* Old and new device encodings both live in i_block[0..1]; 0:0 is all zeros. */
    return LINUX_S_ISCHR(ei->i_mode) && ei->i_block[0] == 0 && ei->i_block[1] == 0;
}

static int is_opaque(sm_lower *l, size_t layer, ext2_ino_t ino, bool *opaque)
{
    struct ext2_xattr_handle *h;
    void *v = NULL;
    size_t len = 0;
    *opaque = false;
    errcode_t e = ext2fs_xattrs_open(l->fs[layer], ino, &h);
    if (e)
        return ext2_fail(e, l->names[layer]);
    e = ext2fs_xattrs_read(h);
    if (!e && ext2fs_xattr_get(h, SM_OVERLAY_OPAQUE_XATTR, &v, &len) == 0) {
        *opaque = len == 1 && *(char *)v == 'y';
        ext2fs_free_mem(&v);
    }
    ext2fs_xattrs_close(&h);
    return e ? ext2_fail(e, l->names[layer]) : 0;
}

/* The topmost entry `name` of the merged directory `dirs` (updated to the
 * layers' directories of that name when it is one). 1 when found. */
static int lookup_one(sm_lower *l, layer_dir *dirs, size_t *ndirs, const char *name, size_t len,
                      layer_dir *top, struct ext2_inode_large *ei)
{
    layer_dir next[MAX_LAYERS];
    size_t nnext = 0;
    bool found = false;
    for (size_t i = 0; i < *ndirs; i++) {
        ext2_ino_t ino;
        struct ext2_inode_large cur;
        layer_dir d = dirs[i];
        errcode_t e = ext2fs_lookup(l->fs[d.layer], d.ino, name, (int)len, NULL, &ino);
        if (e == EXT2_ET_FILE_NOT_FOUND)
            continue;
        if (e)
            return ext2_fail(e, l->names[d.layer]);
        int err = read_inode(l, d.layer, ino, &cur);
        if (err)
            return err;
        if (is_whiteout(&cur) || !LINUX_S_ISDIR(cur.i_mode)) {
            if (found)
                break; /* below a directory: the merge ends here */
            if (is_whiteout(&cur))
                return 0;
            *top = (layer_dir){d.layer, ino};
            *ei = cur;
            *ndirs = 0;
            return 1;
        }
        if (!found)
            *top = (layer_dir){d.layer, ino}, *ei = cur;
        found = true;
        next[nnext++] = (layer_dir){d.layer, ino};
        bool opaque;
        if ((err = is_opaque(l, d.layer, ino, &opaque)))
            return err;
        if (opaque)
            break;
    }
    memcpy(dirs, next, nnext * sizeof *next);
    *ndirs = nnext;
    return found;
}

static int64_t get_time(uint32_t lo, uint32_t extra)
{
    return (int64_t)(int32_t)lo + ((int64_t)(extra & EXT4_EPOCH_MASK) << 32);
}

static int copy_xattr(char *name, char *value, size_t len, void *data)
{
    sm_inode *in = data;
    if (!strncmp(name, "trusted.overlay.", 16))
        return 0;
    return sm_inode_add_xattr(in, name, value, len) ? XATTR_ABORT : 0;
}

static int fill(sm_lower *l, layer_dir at, const struct ext2_inode_large *ei, sm_inode *in)
{
    in->mode = ei->i_mode;
    in->uid = inode_uid(*ei);
    in->gid = inode_gid(*ei);
    in->mtime = get_time(ei->i_mtime, ei->i_mtime_extra);
    in->mtime_ns = ei->i_mtime_extra >> EXT4_EPOCH_BITS;
    in->atime = get_time(ei->i_atime, ei->i_atime_extra);
    in->atime_ns = ei->i_atime_extra >> EXT4_EPOCH_BITS;
    struct ext2_xattr_handle *h = NULL;
    errcode_t e = ext2fs_xattrs_open(l->fs[at.layer], at.ino, &h);
    if (!e && !(e = ext2fs_xattrs_read(h)))
        e = ext2fs_xattrs_iterate(h, copy_xattr, in);
    if (h)
        ext2fs_xattrs_close(&h);
    return e ? ext2_fail(e, l->names[at.layer]) : 0;
}

int sm_lower_stat(sm_lower *l, const char *path, sm_inode *in)
{
    layer_dir dirs[MAX_LAYERS], top = {0, EXT2_ROOT_INO};
    struct ext2_inode_large ei;
    size_t ndirs = l->n;
    for (size_t i = 0; i < l->n; i++)
        dirs[i] = (layer_dir){i, EXT2_ROOT_INO};
    int err = read_inode(l, 0, EXT2_ROOT_INO, &ei);
    for (const char *p = path; !err && *p;) {
        const char *end = strchrnul(p, '/');
        if (!LINUX_S_ISDIR(ei.i_mode))
            return -ENOTDIR;
        int found = lookup_one(l, dirs, &ndirs, p, (size_t)(end - p), &top, &ei);
        if (found <= 0)
            return found < 0 ? found : -ENOENT;
        p = *end ? end + 1 : end;
    }
    return err ? err : fill(l, top, &ei, in);
}
