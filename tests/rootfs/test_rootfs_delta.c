/* Images built over an image already built (src/rootfs/delta.c, chain.c):
 * what the delta holds (overlayfs whiteouts, opaque directories, the lower
 * image's directory attributes), that its merged view is the full build's,
 * and when it falls back to a full build. Layers are crafted with
 * libarchive; images are read back with libext2fs. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "rootfs/lower.h"
#include "rootfs/rootfs.h"
#include "supermachine.h"

typedef struct fixture {
    char dir[64];
    char layers[8][128];
    char digests[8][16];
    int n;
} fixture;

/* ---- layers: one entry per line of a small language ----
 *   "d NAME [MODE [UID]]"  a directory     "f NAME TEXT"   a file
 *   "l NAME TARGET"        a symlink       "h NAME TARGET" a hard link */
static void add_entry(struct archive *a, const char *spec)
{
    char kind, name[128] = "", arg[128] = "";
    unsigned mode = 0755, uid = 0;
    assert_true(sscanf(spec, "%c %127s %127s", &kind, name, arg) >= 2);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (kind == 'd') {
        sscanf(spec, "d %*s %o %u", &mode, &uid);
        archive_entry_set_mode(e, AE_IFDIR | mode);
        archive_entry_set_uid(e, uid);
        archive_entry_set_mtime(e, 1600000000 + uid, 0);
    } else if (kind == 'l') {
        archive_entry_set_mode(e, AE_IFLNK | 0777);
        archive_entry_set_symlink(e, arg);
    } else if (kind == 'h') {
        archive_entry_set_mode(e, AE_IFREG | 0644);
        archive_entry_set_hardlink(e, arg);
    } else {
        archive_entry_set_mode(e, AE_IFREG | 0644);
        archive_entry_set_size(e, (la_int64_t)strlen(arg));
    }
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (kind == 'f' && *arg)
        assert_int_equal(archive_write_data(a, arg, strlen(arg)), (la_ssize_t)strlen(arg));
    archive_entry_free(e);
}

/* Adds a layer made of the NULL-terminated entries. */
static void layer(fixture *f, ...)
{
    char path[128];
    snprintf(path, sizeof path, "%s/layer%d.tar", f->dir, f->n);
    memcpy(f->layers[f->n], path, sizeof path);
    snprintf(f->digests[f->n], sizeof f->digests[0], "sha256:%d", f->n);
    f->n++;
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    va_list ap;
    va_start(ap, f);
    for (const char *s; (s = va_arg(ap, const char *));)
        add_entry(a, s);
    va_end(ap);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sm-delta-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    fixture *f = *state;
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* The image of the first n layers in data directory `data`; e2fsck (where
 * it is installed) finds nothing to say of it, a delta or not. */
static void get(fixture *f, const char *data, int n, sm_rootfs_chain *c)
{
    char dir[128];
    snprintf(dir, sizeof dir, "%s/%s", f->dir, data);
    sm_rootfs_options o = {.data_dir = dir};
    sm_rootfs_layer l[8];
    for (int i = 0; i < n; i++)
        l[i] = (sm_rootfs_layer){f->layers[i], f->digests[i]};
    if (sm_rootfs_get_chain(l, (size_t)n, &o, c))
        fail_msg("build failed: %s", sm_last_error());
    if (access("/usr/sbin/e2fsck", X_OK) == 0 || access("/sbin/e2fsck", X_OK) == 0) {
        char cmd[PATH_MAX + 64];
        snprintf(cmd, sizeof cmd, "e2fsck -fn '%s' >/dev/null 2>&1", c->paths[0]);
        if (system(cmd) != 0) {
            snprintf(cmd, sizeof cmd, "e2fsck -fn '%s' >&2", c->paths[0]);
            (void)system(cmd);
            fail_msg("e2fsck found faults in %s", c->paths[0]);
        }
    }
}

/* ---- looking at images ---- */

/* The inode at path in the one image, as stored (whiteouts included). */
static bool raw_stat(const char *image, const char *path, struct ext2_inode_large *in,
                     bool *opaque)
{
    ext2_filsys fs;
    ext2_ino_t ino;
    assert_int_equal(ext2fs_open(image, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs), 0);
    bool found = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino) == 0;
    if (found) {
        assert_int_equal(ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)in, sizeof *in), 0);
        struct ext2_xattr_handle *h;
        void *v;
        size_t len;
        assert_int_equal(ext2fs_xattrs_open(fs, ino, &h), 0);
        assert_int_equal(ext2fs_xattrs_read(h), 0);
        *opaque = ext2fs_xattr_get(h, SM_OVERLAY_OPAQUE_XATTR, &v, &len) == 0;
        if (*opaque) {
            *opaque = len == 1 && *(char *)v == 'y';
            ext2fs_free_mem(&v);
        }
        ext2fs_xattrs_close(&h);
    }
    ext2fs_close_free(&fs);
    return found;
}

/* stat of path as overlayfs shows the chain: 0 or -ENOENT. */
static int merged(const sm_rootfs_chain *c, const char *path, sm_inode *in)
{
    const char *imgs[SM_ROOTFS_MAX_CHAIN];
    for (size_t i = 0; i < c->n; i++)
        imgs[i] = c->paths[i];
    sm_lower *l;
    assert_int_equal(sm_lower_open(imgs, c->n, &l), 0);
    memset(in, 0, sizeof *in);
    int err = sm_lower_stat(l, path, in);
    sm_inode_clear_xattrs(in);
    sm_lower_close(l);
    return err;
}

static void assert_whiteout(const char *image, const char *path)
{
    struct ext2_inode_large in;
    bool opaque;
    assert_true(raw_stat(image, path, &in, &opaque));
    assert_true(LINUX_S_ISCHR(in.i_mode));
    assert_int_equal(in.i_block[0], 0);
    assert_int_equal(in.i_block[1], 0);
}

static void assert_opaque(const char *image, const char *path, bool want)
{
    struct ext2_inode_large in;
    bool opaque = false;
    assert_true(raw_stat(image, path, &in, &opaque));
    assert_true(LINUX_S_ISDIR(in.i_mode));
    assert_int_equal(opaque, want);
}

static void assert_same_view(const sm_rootfs_chain *a, const sm_rootfs_chain *b,
                             const char *const *paths)
{
    for (; *paths; paths++) {
        sm_inode x, y;
        int ex = merged(a, *paths, &x), ey = merged(b, *paths, &y);
        if (ex != ey)
            fail_msg("'%s': %d in one view, %d in the other", *paths, ex, ey);
        if (!ex && (x.mode != y.mode || x.uid != y.uid || x.mtime != y.mtime))
            fail_msg("'%s': mode %o/%o uid %u/%u mtime %lld/%lld", *paths, x.mode, y.mode,
                     x.uid, y.uid, (long long)x.mtime, (long long)y.mtime);
    }
}

static off_t allocated(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_blocks * 512;
}

/* ---- the tests ---- */

static void base_layer(fixture *f)
{
    layer(f, "d etc", "f etc/a a", "f etc/b b", "d o", "f o/old old", "d d", "f d/x x",
          "d srv 0700 5", "f srv/keep k", "d real", "l lnk real", "f lonely l", NULL);
}

static void child_removes_and_adds(void **state)
{
    fixture *f = *state;
    base_layer(f);
    layer(f, "f etc/.wh.a", "f etc/c c", "f o/.wh..wh..opq", "f o/new new", "f .wh.d",
          "d d", "f d/y y", "f srv/added s", NULL);
    sm_rootfs_chain base, child, cold;
    get(f, "data", 1, &base);
    get(f, "data", 2, &child);
    assert_int_equal(base.n, 1);
    assert_int_equal(child.n, 2);
    assert_string_equal(child.paths[1], base.paths[0]);
    const char *delta = child.paths[0];
    assert_whiteout(delta, "etc/a");        /* a removed name: a 0:0 device */
    assert_opaque(delta, "o", true);        /* an opaque marker */
    assert_opaque(delta, "d", true);        /* a directory replacing a whiteout */
    assert_opaque(delta, "etc", false);
    /* srv is not in the layer: it keeps the base's attributes */
    struct ext2_inode_large in;
    bool opaque;
    assert_true(raw_stat(delta, "srv", &in, &opaque));
    assert_int_equal(in.i_mode & 07777, 0700);
    assert_int_equal(inode_uid(in), 5);
    assert_int_equal(in.i_mtime, 1600000005);
    assert_false(raw_stat(delta, "lonely", &in, &opaque)); /* base files stay below */
    assert_true(allocated(delta) < allocated(base.paths[0]));
    get(f, "cold", 2, &cold);
    assert_int_equal(cold.n, 1);
    const char *paths[] = {"", "etc", "etc/a", "etc/b", "etc/c", "o", "o/old", "o/new", "d",
                           "d/x", "d/y", "srv", "srv/keep", "srv/added", "lnk", "lonely", NULL};
    assert_same_view(&child, &cold, paths);
}

static void grandchild_stacks_on_the_child(void **state)
{
    fixture *f = *state;
    base_layer(f);
    layer(f, "f etc/c c", "f .wh.lonely", NULL);
    layer(f, "f etc/.wh.c", "f etc/.wh.b", "d lonely", "f lonely/now n", NULL);
    sm_rootfs_chain c1, c2, c3, cold;
    get(f, "data", 1, &c1);
    get(f, "data", 2, &c2);
    get(f, "data", 3, &c3);
    assert_int_equal(c3.n, 3);
    assert_string_equal(c3.paths[1], c2.paths[0]);
    assert_whiteout(c3.paths[0], "etc/c");
    assert_whiteout(c3.paths[0], "etc/b");
    /* the child's whiteout hides the base's file: nothing to mark */
    assert_opaque(c3.paths[0], "lonely", false);
    get(f, "cold", 3, &cold);
    const char *paths[] = {"etc/a", "etc/b", "etc/c", "lonely", "lonely/now", "o/old", NULL};
    assert_same_view(&c3, &cold, paths);
}

static void same_layers_same_delta(void **state)
{
    fixture *f = *state;
    base_layer(f);
    layer(f, "f etc/.wh.a", "f srv/added s", NULL);
    sm_rootfs_chain a, b, base;
    get(f, "one", 1, &base);
    get(f, "one", 2, &a);
    get(f, "two", 1, &base);
    get(f, "two", 2, &b);
    assert_int_equal(a.n, 2);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a.paths[0], b.paths[0]);
    assert_int_equal(system(cmd), 0);
}

/* What a delta cannot show as a full build does: built in full. */
static void falls_back_to_a_full_build(void **state)
{
    static const char *const cases[] = {
        "f lnk/through-a-symlink x", /* a parent that is a symlink below */
        "h hard lonely",             /* a hard link to a file below */
        "f lonely/under-a-file x",   /* fails in full too: nothing to keep */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fixture *f = *state;
        f->n = 0;
        base_layer(f);
        layer(f, cases[i], NULL);
        char data[16];
        snprintf(data, sizeof data, "data%zu", i);
        sm_rootfs_chain base, c;
        get(f, data, 1, &base);
        if (i == 2) {
            char dir[128];
            snprintf(dir, sizeof dir, "%s/%s", f->dir, data);
            sm_rootfs_options o = {.data_dir = dir};
            sm_rootfs_layer l[2] = {{f->layers[0], f->digests[0]}, {f->layers[1], f->digests[1]}};
            assert_true(sm_rootfs_get_chain(l, 2, &o, &c) < 0);
            assert_non_null(strstr(sm_last_error(), "not a directory"));
            continue;
        }
        get(f, data, 2, &c);
        assert_int_equal(c.n, 1);
        char parent[256];
        snprintf(parent, sizeof parent, "%.*s.parent", (int)(strlen(c.paths[0]) - 5),
                 c.paths[0]);
        assert_int_not_equal(access(parent, F_OK), 0);
    }
    fixture *f = *state;
    sm_inode in;
    sm_rootfs_chain c;
    get(f, "data0", 2, &c);
    assert_int_equal(merged(&c, "real/through-a-symlink", &in), 0);
}

/* A chain stops at SM_ROOTFS_MAX_CHAIN images; an image whose base is
 * gone is built anew. */
static void chains_are_bounded_and_heal(void **state)
{
    fixture *f = *state;
    base_layer(f);
    for (int i = 1; i < 7; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "f file%d %d", i, i);
        layer(f, spec, NULL);
    }
    sm_rootfs_chain c;
    for (int n = 1; n <= 7; n++) {
        get(f, "data", n, &c);
        assert_true(c.n <= SM_ROOTFS_MAX_CHAIN);
    }
    /* deeper ones build on the longest prefix with room: layers 1-3 */
    assert_int_equal(c.n, SM_ROOTFS_MAX_CHAIN);
    get(f, "data", 2, &c);
    assert_int_equal(c.n, 2);
    assert_int_equal(unlink(c.paths[1]), 0);
    get(f, "data", 2, &c);
    assert_int_equal(c.n, 1); /* nothing left to build on */
    sm_inode in;
    assert_int_equal(merged(&c, "file1", &in), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(child_removes_and_adds),
        T(grandchild_stacks_on_the_child),
        T(same_layers_same_delta),
        T(falls_back_to_a_full_build),
        T(chains_are_bounded_and_heal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
