/* Layer application and image writing, on tar layers crafted here with
 * libarchive. Tree-level tests look at the merged tree; image-level tests
 * read the ext4 image back with libext2fs. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "rootfs/layer_apply.h"
#include "rootfs/resolve.h"
#include "rootfs/rootfs.h"
#include "rootfs/tree.h"
#include "supermachine.h"

enum { PLAIN, GZIP, ZSTD };

typedef struct fixture {
    char dir[64];
    int n_layers;
    sm_tree tree;
    int image;              /* where the layers' files go */
    sm_data_region data;
    sm_layer_budget budget;
} fixture;

static const unsigned char CAP_NET_RAW[20] = {1, 0, 0, 2, 0, 0x20};

/* ---- writing layers ---- */

static struct archive *tar_new(fixture *f, int filter, char *path, size_t len)
{
    snprintf(path, len, "%s/layer%d.tar", f->dir, ++f->n_layers);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    if (filter == GZIP)
        archive_write_add_filter_gzip(a);
    if (filter == ZSTD)
        archive_write_add_filter_zstd(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    return a;
}

static struct archive_entry *entry(const char *name, mode_t mode)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mode(e, mode);
    archive_entry_set_mtime(e, 1700000000, 123456789);
    return e;
}

static void put(struct archive *a, struct archive_entry *e, const char *data)
{
    size_t len = data ? strlen(data) : 0;
    if (data)
        archive_entry_set_size(e, (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (len)
        assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
    archive_entry_free(e);
}

static void t_file(struct archive *a, const char *name, const char *data)
{
    put(a, entry(name, AE_IFREG | 0644), data);
}

static void t_dir(struct archive *a, const char *name)
{
    put(a, entry(name, AE_IFDIR | 0755), NULL);
}

static void t_symlink(struct archive *a, const char *name, const char *target)
{
    struct archive_entry *e = entry(name, AE_IFLNK | 0777);
    archive_entry_set_symlink(e, target);
    put(a, e, NULL);
}

static void t_hardlink(struct archive *a, const char *name, const char *target)
{
    struct archive_entry *e = entry(name, AE_IFREG | 0644);
    archive_entry_set_hardlink(e, target);
    put(a, e, NULL);
}

static void t_close(struct archive *a)
{
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
}

/* ---- fixtures and looking at results ---- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/sm-rootfs-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(sm_tree_init(&f->tree), 0);
    char image[128];
    snprintf(image, sizeof image, "%s/image", f->dir);
    f->image = open(image, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    assert_true(f->image >= 0);
    assert_int_equal(sm_data_region_init(&f->data, f->image, image), 0);
    f->budget = (sm_layer_budget){.max_file = SM_ROOTFS_MAX_FILE_DEFAULT,
                                  .max_total = SM_ROOTFS_MAX_IMAGE_DEFAULT};
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
    sm_tree_free(&f->tree);
    sm_data_region_free(&f->data);
    close(f->image);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int apply(fixture *f, const char *path)
{
    return sm_layer_apply(&f->tree, &f->data, path, (unsigned)f->n_layers, &f->budget);
}

/* A file's bytes where the layer put them, in the image's data region. */
static void read_data(fixture *f, void *buf, size_t len, uint64_t off)
{
    assert_int_equal(pread(f->image, buf, len, (off_t)(SM_DATA_HEAD + off)), (ssize_t)len);
}

static sm_node *find(fixture *f, const char *path)
{
    sm_node *n;
    return sm_tree_walk(&f->tree, f->tree.root, path, 0, 0, &n) == 0 ? n : NULL;
}

static void assert_content(fixture *f, const char *path, const char *want)
{
    sm_node *n = find(f, path);
    assert_non_null(n);
    assert_true(S_ISREG(n->inode->mode));
    char buf[256] = {0};
    assert_int_equal(n->inode->size, strlen(want));
    read_data(f, buf, n->inode->size, n->inode->data_off);
    assert_string_equal(buf, want);
}

static void assert_error_has(const char *part)
{
    if (!strstr(sm_last_error(), part))
        fail_msg("error '%s' does not mention '%s'", sm_last_error(), part);
}

/* ---- whiteouts ---- */

static void whiteout_hides_lower_layers_only(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_dir(a, "etc/");
    t_file(a, "etc/a", "a");
    t_file(a, "etc/b", "b");
    t_dir(a, "d/");
    t_file(a, "d/x", "x");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "etc/.wh.a", "");
    t_file(a, "etc/c", "c");
    t_file(a, "etc/.wh.c", ""); /* the same layer's own file stays */
    t_file(a, ".wh.d", "");
    t_file(a, "etc/.wh.nothing", "");
    t_file(a, "nodir/sub/.wh.x", ""); /* hides nothing, creates nothing */
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_null(find(f, "etc/a"));
    assert_content(f, "etc/b", "b");
    assert_content(f, "etc/c", "c");
    assert_null(find(f, "d"));
    assert_null(find(f, "etc/.wh.a"));
    assert_null(find(f, "nodir"));
}

static void opaque_dir(fixture *f, bool marker_first)
{
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_dir(a, "o/");
    t_file(a, "o/old", "old");
    t_dir(a, "o/sub/");
    t_file(a, "o/sub/old2", "old2");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    a = tar_new(f, PLAIN, p, sizeof p);
    if (marker_first)
        t_file(a, "o/.wh..wh..opq", "");
    t_file(a, "o/new", "new");
    t_file(a, "o/sub/new2", "new2");
    if (!marker_first)
        t_file(a, "o/.wh..wh..opq", "");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_null(find(f, "o/old"));
    assert_null(find(f, "o/sub/old2"));
    assert_content(f, "o/new", "new");
    assert_content(f, "o/sub/new2", "new2");
}

static void opaque_dir_marker_first(void **state)
{
    opaque_dir(*state, true);
}

static void opaque_dir_marker_last(void **state)
{
    opaque_dir(*state, false);
}

/* ---- replacing and linking ---- */

static void hardlink_across_layers(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "f", "one");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    a = tar_new(f, PLAIN, p, sizeof p);
    t_hardlink(a, "g", "f");
    t_hardlink(a, "/h", "/f");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_ptr_equal(find(f, "g")->inode, find(f, "f")->inode);
    assert_ptr_equal(find(f, "h")->inode, find(f, "f")->inode);
    assert_int_equal(find(f, "f")->inode->refs, 3);
    a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "f", "two");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_content(f, "f", "two");
    assert_content(f, "g", "one");
    assert_int_equal(find(f, "g")->inode->refs, 2);
}

static void file_and_directory_swap(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "x", "file");
    t_dir(a, "y/");
    t_file(a, "y/z", "z");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    a = tar_new(f, PLAIN, p, sizeof p);
    t_dir(a, "x/");
    t_file(a, "x/in", "in");
    t_file(a, "y", "now a file");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_true(sm_node_is_dir(find(f, "x")));
    assert_content(f, "x/in", "in");
    assert_content(f, "y", "now a file");
}

/* ---- hostile names ---- */

static void dotdot_escape_is_refused(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "a/../b", "fine: stays inside");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_content(f, "b", "fine: stays inside");
    a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "x/../../evil", "no");
    t_close(a);
    assert_int_equal(apply(f, p), -EINVAL);
    assert_error_has("x/../../evil");
    assert_error_has("climbs out of the root");
}

static void absolute_path_is_made_relative(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "/abs/file", "abs");
    t_file(a, "//./twice//slashed", "ok");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_content(f, "abs/file", "abs");
    assert_content(f, "twice/slashed", "ok");
}

static void symlinked_parent_resolves_inside(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_dir(a, "etc/");
    t_file(a, "etc/passwd", "image's own");
    t_symlink(a, "abs", "/etc");
    t_symlink(a, "rel", "../../../../etc");
    t_symlink(a, "dangling", "/nowhere/deep");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "abs/passwd", "through abs");
    t_file(a, "rel/shadow", "through rel");
    t_file(a, "dangling/x", "made inside");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    assert_content(f, "etc/passwd", "through abs");
    assert_content(f, "etc/shadow", "through rel");
    assert_content(f, "nowhere/deep/x", "made inside");
    assert_true(S_ISLNK(find(f, "abs")->inode->mode)); /* the link itself is kept */
    assert_string_equal(find(f, "abs")->inode->target, "/etc");
}

static void symlink_loop_fails(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_symlink(a, "l1", "l2");
    t_symlink(a, "l2", "l1");
    t_file(a, "l1/x", "never");
    t_close(a);
    assert_int_equal(apply(f, p), -ELOOP);
    assert_error_has("symbolic links");
}

static void bad_hardlinks_fail(void **state)
{
    fixture *f = *state;
    static const char *const targets[] = {"../../etc/passwd", "missing", "dir"};
    static const char *const says[] = {"climbs out", "does not exist", "is a directory"};
    for (size_t i = 0; i < 3; i++) {
        char p[128];
        struct archive *a = tar_new(f, PLAIN, p, sizeof p);
        t_dir(a, "dir/");
        t_hardlink(a, "link", targets[i]);
        t_close(a);
        assert_int_equal(apply(f, p) < 0, 1);
        assert_error_has(says[i]);
    }
}

/* ---- whole images ---- */

static void build_image(fixture *f, const char *layer, const char *out)
{
    sm_rootfs_layer l = {.path = layer, .digest = NULL};
    int err = sm_rootfs_build(&l, 1, out, NULL);
    if (err)
        fail_msg("build failed: %s", sm_last_error());
    (void)f;
}

static ext2_filsys open_image(const char *path)
{
    ext2_filsys fs;
    assert_int_equal(ext2fs_open(path, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs), 0);
    return fs;
}

static ext2_ino_t image_lookup(ext2_filsys fs, const char *path, struct ext2_inode_large *in)
{
    ext2_ino_t ino;
    assert_int_equal(ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino), 0);
    assert_int_equal(ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)in, sizeof *in), 0);
    return ino;
}

static void image_content(ext2_filsys fs, const char *path, const char *want)
{
    struct ext2_inode_large in;
    ext2_ino_t ino = image_lookup(fs, path, &in);
    ext2_file_t file;
    char buf[256] = {0};
    unsigned got = 0;
    assert_int_equal(ext2fs_file_open(fs, ino, 0, &file), 0);
    assert_int_equal(ext2fs_file_read(file, buf, sizeof buf - 1, &got), 0);
    ext2fs_file_close(file);
    assert_string_equal(buf, want);
}

/* e2fsck finds nothing to say of the image (where it is installed). */
static void assert_fsck_clean(const char *image)
{
    if (access("/usr/sbin/e2fsck", X_OK) != 0 && access("/sbin/e2fsck", X_OK) != 0)
        return;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "e2fsck -fn '%s' >/dev/null 2>&1", image);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof cmd, "e2fsck -fn '%s' >&2", image);
        (void)system(cmd);
        fail_msg("e2fsck found faults in %s", image);
    }
}

static void compression_is_told_by_bytes(void **state)
{
    fixture *f = *state;
    static const int filters[] = {PLAIN, GZIP, ZSTD};
    for (int i = 0; i < 3; i++) {
        char p[128], out[160];
        struct archive *a = tar_new(f, filters[i], p, sizeof p);
        t_file(a, "hello", "compressed or not");
        t_close(a);
        snprintf(out, sizeof out, "%s/img%d.ext4", f->dir, i);
        build_image(f, p, out);
        ext2_filsys fs = open_image(out);
        image_content(fs, "hello", "compressed or not");
        ext2fs_close_free(&fs);
    }
}

static void image_keeps_metadata(void **state)
{
    fixture *f = *state;
    char p[128], out[160], longtarget[200];
    struct archive *a = tar_new(f, GZIP, p, sizeof p);
    struct archive_entry *e = entry("bin/ping", AE_IFREG | 04755);
    archive_entry_set_uid(e, 70000);
    archive_entry_set_gid(e, 42);
    archive_entry_xattr_add_entry(e, "security.capability", CAP_NET_RAW, sizeof CAP_NET_RAW);
    put(a, e, "ping");
    e = entry("dev/sda", AE_IFBLK | 0660);
    archive_entry_set_rdev(e, makedev(8, 1));
    put(a, e, NULL);
    e = entry("dev/big", AE_IFCHR | 0600);
    archive_entry_set_rdev(e, makedev(300, 70000));
    put(a, e, NULL);
    put(a, entry("run/fifo", AE_IFIFO | 0620), NULL);
    put(a, entry("tmp/", AE_IFDIR | 01777), NULL);
    memset(longtarget, 'x', sizeof longtarget - 1);
    longtarget[sizeof longtarget - 1] = '\0';
    t_symlink(a, "long", longtarget);
    t_close(a);
    snprintf(out, sizeof out, "%s/meta.ext4", f->dir);
    build_image(f, p, out);

    ext2_filsys fs = open_image(out);
    struct ext2_inode_large in;
    ext2_ino_t ino = image_lookup(fs, "bin/ping", &in);
    assert_int_equal(in.i_mode, LINUX_S_IFREG | 04755);
    assert_int_equal(inode_uid(in), 70000);
    assert_int_equal(inode_gid(in), 42);
    assert_int_equal(in.i_mtime, 1700000000);
    assert_int_equal(in.i_mtime_extra >> 2, 123456789);
    struct ext2_xattr_handle *h;
    void *val;
    size_t len;
    assert_int_equal(ext2fs_xattrs_open(fs, ino, &h), 0);
    assert_int_equal(ext2fs_xattrs_read(h), 0);
    assert_int_equal(ext2fs_xattr_get(h, "security.capability", &val, &len), 0);
    assert_memory_equal(val, CAP_NET_RAW, sizeof CAP_NET_RAW);
    ext2fs_free_mem(&val);
    ext2fs_xattrs_close(&h);
    image_lookup(fs, "dev/sda", &in);
    assert_int_equal(in.i_mode, LINUX_S_IFBLK | 0660);
    assert_int_equal(in.i_block[0], 8 * 256 + 1);
    image_lookup(fs, "dev/big", &in);
    assert_int_equal(in.i_block[1], (70000 & 0xff) | (300 << 8) | ((70000 & ~0xff) << 12));
    image_lookup(fs, "run/fifo", &in);
    assert_int_equal(in.i_mode, LINUX_S_IFIFO | 0620);
    image_lookup(fs, "tmp", &in);
    assert_int_equal(in.i_mode, LINUX_S_IFDIR | 01777);
    image_lookup(fs, "long", &in);
    assert_int_equal(EXT2_I_SIZE(&in), strlen(longtarget));
    ext2fs_close_free(&fs);
    assert_fsck_clean(out);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *de; (de = readdir(d));)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static void truncated_layer_leaves_nothing(void **state)
{
    fixture *f = *state;
    char p[128], out[160];
    struct archive *a = tar_new(f, GZIP, p, sizeof p);
    char big[20000];
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = (char)('a' + (i * 7919) % 26);
    big[sizeof big - 1] = '\0';
    t_file(a, "first", big);
    t_file(a, "second", big);
    t_close(a);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(truncate(p, st.st_size / 2), 0);
    snprintf(out, sizeof out, "%s/trunc.ext4", f->dir);
    int before = count_files(f->dir);
    sm_rootfs_layer l = {.path = p, .digest = "sha256:feed"};
    assert_true(sm_rootfs_build(&l, 1, out, NULL) < 0);
    assert_error_has("layer 1 of 1 (sha256:feed)");
    assert_error_has("truncated or corrupt");
    assert_null(strchr(sm_last_error(), '\n'));
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(count_files(f->dir), before);
}

/* A file of n bytes of one value, written a MiB at a time. */
static void t_big_file(struct archive *a, const char *name, size_t n, int byte)
{
    static char chunk[1 << 20];
    memset(chunk, byte, sizeof chunk);
    struct archive_entry *e = entry(name, AE_IFREG | 0644);
    archive_entry_set_size(e, (la_int64_t)n);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    for (size_t done = 0; done < n; done += sizeof chunk)
        assert_int_equal(archive_write_data(a, chunk, sizeof chunk), (la_ssize_t)sizeof chunk);
    archive_entry_free(e);
}

/* A file past the budget fails on its header, before its data is read;
 * so does the file that takes all layers' files past theirs. */
static void files_past_the_budget_fail(void **state)
{
    fixture *f = *state;
    char p[128];
    f->budget.max_file = 2 << 20;
    f->budget.max_total = 5 << 20;
    struct archive *a = tar_new(f, GZIP, p, sizeof p);
    t_big_file(a, "big", 3 << 20, 0);
    t_close(a);
    assert_int_equal(apply(f, p), -EFBIG);
    assert_error_has("a file of 3.0 MiB: more than the 2.0 MiB one file may have "
                     "(SUPERMACHINE_MAX_FILE_SIZE)");
    a = tar_new(f, GZIP, p, sizeof p);
    t_big_file(a, "a", 2 << 20, 1);
    t_big_file(a, "b", 2 << 20, 1);
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    a = tar_new(f, GZIP, p, sizeof p);
    t_big_file(a, "c", 2 << 20, 1);
    t_close(a);
    assert_int_equal(apply(f, p), -EFBIG);
    assert_error_has("add up to more than 5.0 MiB (SUPERMACHINE_MAX_IMAGE_SIZE)");
}

/* A bomb of zeros costs no disk: its data stays holes in the image. */
static void zeros_stay_holes(void **state)
{
    fixture *f = *state;
    char p[128];
    struct archive *a = tar_new(f, GZIP, p, sizeof p);
    t_big_file(a, "zeros", 64 << 20, 0);
    t_file(a, "after", "data");
    t_close(a);
    assert_int_equal(apply(f, p), 0);
    struct stat st;
    assert_int_equal(fstat(f->image, &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 < (1u << 20));
    sm_node *n = find(f, "after");
    assert_non_null(n);
    char got[4];
    read_data(f, got, 4, n->inode->data_off);
    assert_memory_equal(got, "data", 4);
}

/* A sparse file as `tar --sparse` stores it: only its data regions in the
 * layer (pax GNU.sparse), len bytes of `byte` at each offset. libarchive
 * takes the holes through archive_write_data and skips them. */
static void t_sparse_file(struct archive *a, const char *name, uint64_t size,
                          const uint64_t *offs, int n, size_t len)
{
    static char zeros[1 << 20];
    char data[4096];
    struct archive_entry *e = entry(name, AE_IFREG | 0644);
    archive_entry_set_size(e, (la_int64_t)size);
    for (int i = 0; i < n; i++)
        archive_entry_sparse_add_entry(e, (la_int64_t)offs[i], (la_int64_t)len);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    uint64_t at = 0;
    for (int i = 0; i <= n; i++) {
        uint64_t to = i < n ? offs[i] : size;
        for (; at < to; at += sizeof zeros < to - at ? sizeof zeros : to - at)
            archive_write_data(a, zeros, sizeof zeros < to - at ? sizeof zeros : to - at);
        if (i < n) {
            memset(data, 'a' + i, sizeof data);
            assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
            at += len;
        }
    }
    archive_entry_free(e);
}

/* A 2 GiB file with 12 KiB of data: the image reads it back whole, its
 * holes as zeros, and takes next to nothing of the host's disk. */
static void sparse_files_stay_sparse(void **state)
{
    fixture *f = *state;
    char p[128], out[160];
    const uint64_t size = 2ull << 30, offs[] = {0, 1ull << 30, size - 4096};
    struct archive *a = tar_new(f, GZIP, p, sizeof p);
    t_sparse_file(a, "sparse", size, offs, 3, 4096);
    t_file(a, "after", "data");
    t_close(a);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size < (1 << 20));
    snprintf(out, sizeof out, "%s/sparse.ext4", f->dir);
    build_image(f, p, out);
    assert_int_equal(stat(out, &st), 0);
    assert_true((uint64_t)st.st_size >= size);
    assert_true((uint64_t)st.st_blocks * 512 < (64u << 20));
    ext2_filsys fs = open_image(out);
    struct ext2_inode_large in;
    ext2_ino_t ino = image_lookup(fs, "sparse", &in);
    assert_int_equal(EXT2_I_SIZE(&in), size);
    ext2_file_t file;
    assert_int_equal(ext2fs_file_open(fs, ino, 0, &file), 0);
    const uint64_t at[] = {0, 1ull << 30, size - 4096, 4096, 1ull << 29, size - 8192};
    const char want[] = {'a', 'b', 'c', 0, 0, 0};
    for (int i = 0; i < 6; i++) {
        char buf[4096], expect[4096];
        unsigned got = 0;
        memset(expect, want[i], sizeof expect);
        assert_int_equal(ext2fs_file_llseek(file, at[i], EXT2_SEEK_SET, NULL), 0);
        assert_int_equal(ext2fs_file_read(file, buf, sizeof buf, &got), 0);
        assert_int_equal(got, sizeof buf);
        assert_memory_equal(buf, expect, sizeof buf);
    }
    ext2fs_file_close(file);
    image_content(fs, "after", "data");
    ext2fs_close_free(&fs);
    assert_fsck_clean(out); /* 16 extents: a tree with a leaf block */
}

typedef struct layout {
    blk64_t data_start, tail_start;
    uint64_t file_blocks;   /* blocks of regular files found */
} layout;

/* Every block of the inode is where its kind goes: a regular file's in the
 * data region, anything else's in the tail. */
static void assert_placed(ext2_filsys fs, ext2_ino_t ino, layout *l)
{
    struct ext2_inode_large in;
    assert_int_equal(ext2fs_read_inode_full(fs, ino, (struct ext2_inode *)&in, sizeof in), 0);
    blk64_t xattrs = ext2fs_file_acl_block(fs, (struct ext2_inode *)&in);
    assert_true(!xattrs || xattrs >= l->tail_start);
    if (!(in.i_flags & EXT4_EXTENTS_FL))
        return; /* a fast symlink, a device */
    ext2_extent_handle_t h;
    struct ext2fs_extent ex;
    assert_int_equal(ext2fs_extent_open2(fs, ino, (struct ext2_inode *)&in, &h), 0);
    for (errcode_t e = ext2fs_extent_get(h, EXT2_EXTENT_ROOT, &ex); !e;
         e = ext2fs_extent_get(h, EXT2_EXTENT_NEXT, &ex)) {
        bool file = LINUX_S_ISREG(in.i_mode) && (ex.e_flags & EXT2_EXTENT_FLAGS_LEAF);
        if (file) {
            assert_true(ex.e_pblk >= l->data_start);
            assert_true(ex.e_pblk + ex.e_len <= l->tail_start);
            l->file_blocks += ex.e_len;
        } else {
            assert_true(ex.e_pblk >= l->tail_start);
        }
    }
    ext2fs_extent_free(h);
}

static int place_entry(ext2_ino_t dir, int entry, struct ext2_dir_entry *d, int offset,
                       int blocksize, char *buf, void *priv)
{
    (void)dir, (void)entry, (void)offset, (void)blocksize, (void)buf;
    ext2_filsys fs = ((void **)priv)[0];
    layout *l = ((void **)priv)[1];
    int len = ext2fs_dirent_name_len(d);
    if (len <= 2 && d->name[0] == '.' && (len == 1 || d->name[1] == '.'))
        return 0;
    assert_placed(fs, d->inode, l);
    if (ext2fs_dirent_file_type(d) == EXT2_FT_DIR) {
        void *again[2] = {fs, l};
        assert_int_equal(ext2fs_dir_iterate2(fs, d->inode, 0, NULL, place_entry, again), 0);
    }
    return 0;
}

/* The layers' files are written once, where the image's extents point:
 * the data region after the superblock and group descriptors, with the
 * rest of the metadata after it. What a later layer deleted or replaced
 * is free and takes no disk; the image passes e2fsck. */
static void files_lie_where_they_were_written(void **state)
{
    fixture *f = *state;
    char p1[128], p2[128], out[160], longtarget[200];
    struct archive *a = tar_new(f, GZIP, p1, sizeof p1);
    t_file(a, "etc/a", "first");
    t_big_file(a, "gone", 8 << 20, 'g');
    t_big_file(a, "big", 3 << 20, 'b');
    struct archive_entry *e = entry("bin/ping", AE_IFREG | 0755);
    char cap[600];
    memset(cap, 'c', sizeof cap);
    archive_entry_xattr_add_entry(e, "user.big", cap, sizeof cap); /* a block of its own */
    put(a, e, "ping");
    memset(longtarget, 'x', sizeof longtarget - 1);
    longtarget[sizeof longtarget - 1] = '\0';
    t_symlink(a, "long", longtarget);
    for (int i = 0; i < 300; i++) { /* a directory of several blocks */
        char name[64];
        snprintf(name, sizeof name, "many/a-rather-long-file-name-%03d", i);
        t_file(a, name, name);
    }
    t_close(a);
    a = tar_new(f, PLAIN, p2, sizeof p2);
    t_file(a, ".wh.gone", "");
    t_file(a, "etc/a", "second");
    t_hardlink(a, "bin/pong", "bin/ping");
    t_close(a);
    sm_rootfs_layer l[2] = {{p1, "sha256:01"}, {p2, "sha256:02"}};
    snprintf(out, sizeof out, "%s/placed.ext4", f->dir);
    assert_int_equal(sm_rootfs_build(l, 2, out, NULL), 0);
    assert_fsck_clean(out);

    ext2_filsys fs = open_image(out);
    layout lay = {.data_start = SM_DATA_HEAD / fs->blocksize, .tail_start = ~0ull};
    for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
        /* no backup superblock where the data region is */
        assert_true(g == 0 || !ext2fs_bg_has_super(fs, g));
        blk64_t b = ext2fs_block_bitmap_loc(fs, g);
        lay.tail_start = b < lay.tail_start ? b : lay.tail_start;
    }
    assert_true(lay.tail_start > lay.data_start);
    assert_true(fs->desc_blocks < lay.data_start);
    void *ctx[2] = {fs, &lay};
    assert_placed(fs, EXT2_ROOT_INO, &lay);
    assert_int_equal(ext2fs_dir_iterate2(fs, EXT2_ROOT_INO, 0, NULL, place_entry, ctx), 0);
    /* bin/ping and bin/pong are one inode, counted twice */
    uint64_t used = 0;
    assert_int_equal(ext2fs_read_block_bitmap(fs), 0);
    for (blk64_t b = lay.data_start; b < lay.tail_start; b++)
        used += ext2fs_test_block_bitmap2(fs->block_map, b) != 0;
    assert_int_equal(used + 1, lay.file_blocks);
    image_content(fs, "etc/a", "second");
    image_content(fs, "bin/pong", "ping");
    image_content(fs, "many/a-rather-long-file-name-299", "many/a-rather-long-file-name-299");
    ext2fs_close_free(&fs);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_true((uint64_t)st.st_blocks * 512 < (6u << 20)); /* "gone" is not on disk */
}

/* The group descriptors have the image's first MiB: an image past what
 * they can describe (limits raised above the 256 GiB default) is refused
 * with a sentence, not written. */
static void too_big_an_image_is_refused(void **state)
{
    fixture *f = *state;
    char p[128], out[160];
    const uint64_t size = 2100ull << 30, offs[] = {0};
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_sparse_file(a, "huge", size, offs, 1, 4096);
    t_close(a);
    snprintf(out, sizeof out, "%s/huge.ext4", f->dir);
    sm_rootfs_layer l = {.path = p, .digest = "sha256:01"};
    sm_rootfs_options o = {.max_file_bytes = 4ull << 40, .max_image_bytes = 4ull << 40};
    assert_int_equal(sm_rootfs_build(&l, 1, out, &o), -EFBIG);
    assert_error_has("more than the 1.99 TiB an image can be");
    assert_int_equal(access(out, F_OK), -1);
}

static void garbage_layer_fails(void **state)
{
    fixture *f = *state;
    char p[160], out[160];
    snprintf(p, sizeof p, "%s/garbage", f->dir);
    FILE *fp = fopen(p, "w");
    for (int i = 0; i < 4000; i++)
        fputs("not a tar ", fp);
    fclose(fp);
    snprintf(out, sizeof out, "%s/garbage.ext4", f->dir);
    sm_rootfs_layer l = {.path = p};
    assert_true(sm_rootfs_build(&l, 1, out, NULL) < 0);
    assert_error_has("layer 1 of 1");
    assert_int_equal(access(out, F_OK), -1);
}

static void cache_reuses_the_image(void **state)
{
    fixture *f = *state;
    char p1[128], p2[128], path[4096], again[4096], swapped[4096];
    struct archive *a = tar_new(f, PLAIN, p1, sizeof p1);
    t_file(a, "one", "1");
    t_close(a);
    a = tar_new(f, PLAIN, p2, sizeof p2);
    t_file(a, "two", "2");
    t_close(a);
    char data[128];
    snprintf(data, sizeof data, "%s/data", f->dir);
    sm_rootfs_options opts = {.data_dir = data};
    sm_rootfs_layer l[2] = {{p1, "sha256:11"}, {p2, "sha256:22"}};
    assert_int_equal(sm_rootfs_get(l, 2, &opts, path, sizeof path), 0);
    struct stat st1, st2;
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(sm_rootfs_get(l, 2, &opts, again, sizeof again), 0);
    assert_string_equal(path, again);
    assert_int_equal(stat(again, &st2), 0);
    assert_int_equal(st1.st_ino, st2.st_ino); /* not rebuilt */
    sm_rootfs_layer r[2] = {l[1], l[0]};
    assert_int_equal(sm_rootfs_get(r, 2, &opts, swapped, sizeof swapped), 0);
    assert_string_not_equal(path, swapped);
    l[1].digest = NULL;
    assert_int_equal(sm_rootfs_get(l, 2, &opts, path, sizeof path), -EINVAL);
    assert_error_has("no digest");
}

static bool same_bytes(const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

static void same_layers_same_bytes(void **state)
{
    fixture *f = *state;
    char p[128], out1[160], out2[160];
    struct archive *a = tar_new(f, GZIP, p, sizeof p);
    t_dir(a, "etc/");
    t_file(a, "etc/hostname", "sm");
    t_symlink(a, "etc/mtab", "/proc/mounts");
    t_close(a);
    sm_rootfs_layer l = {.path = p, .digest = "sha256:abc"};
    snprintf(out1, sizeof out1, "%s/r1.ext4", f->dir);
    snprintf(out2, sizeof out2, "%s/r2.ext4", f->dir);
    assert_int_equal(sm_rootfs_build(&l, 1, out1, NULL), 0);
    assert_int_equal(sm_rootfs_build(&l, 1, out2, NULL), 0);
    assert_true(same_bytes(out1, out2));
}


/* Layers with whiteouts, hard links and replaced files across them. */
static void four_layers(fixture *f, char p[4][128])
{
    struct archive *a = tar_new(f, GZIP, p[0], sizeof p[0]);
    t_dir(a, "etc/");
    t_file(a, "etc/a", "a1");
    t_file(a, "etc/b", "b1");
    t_dir(a, "usr/lib/");
    t_file(a, "usr/lib/libc.so", "elf");
    t_close(a);
    a = tar_new(f, ZSTD, p[1], sizeof p[1]);
    t_file(a, "etc/.wh.a", "");
    t_hardlink(a, "usr/lib/libc.so.6", "usr/lib/libc.so");
    t_symlink(a, "lib", "usr/lib");
    t_close(a);
    a = tar_new(f, PLAIN, p[2], sizeof p[2]);
    t_file(a, "lib/extra", "via the symlinked parent");
    t_file(a, "etc/b", "b3");
    t_close(a);
    a = tar_new(f, GZIP, p[3], sizeof p[3]);
    t_dir(a, "usr/lib/");
    t_file(a, "usr/lib/.wh..wh..opq", "");
    t_file(a, "usr/lib/new", "n");
    t_close(a);
}

/* However many threads decode the layers, the image is the same bytes. */
static void parallel_decoding_same_bytes(void **state)
{
    fixture *f = *state;
    char p[4][128], one[160], many[160];
    four_layers(f, p);
    sm_rootfs_layer l[4] = {{p[0], "sha256:01"}, {p[1], "sha256:02"}, {p[2], "sha256:03"},
                            {p[3], "sha256:04"}};
    snprintf(one, sizeof one, "%s/one.ext4", f->dir);
    snprintf(many, sizeof many, "%s/many.ext4", f->dir);
    sm_rootfs_options o1 = {.threads = 1}, o4 = {.threads = 4};
    assert_int_equal(sm_rootfs_build(l, 4, one, &o1), 0);
    assert_int_equal(sm_rootfs_build(l, 4, many, &o4), 0);
    assert_true(same_bytes(one, many));
    for (size_t i = 0; i < 4; i++) /* and the same as applying them one by one */
        assert_int_equal(sm_layer_apply(&f->tree, &f->data, p[i], (unsigned)i + 1, &f->budget), 0);
    assert_null(find(f, "etc/a"));
    assert_content(f, "etc/b", "b3");
    assert_null(find(f, "usr/lib/extra")); /* layer 4's opaque marker hides it */
    assert_content(f, "usr/lib/new", "n");
    assert_null(find(f, "usr/lib/libc.so.6"));
}

/* Layers whose files outgrow the room planned for them (a few KiB of gzip
 * holding tens of MiB) spill past every layer's room in layer order: the
 * same bytes however many threads decode them, and files that read back. */
static void spilling_layers_same_bytes(void **state)
{
    fixture *f = *state;
    char p[3][128], one[160], many[160];
    struct archive *a = tar_new(f, GZIP, p[0], sizeof p[0]);
    t_big_file(a, "big1", 40 << 20, 'x');
    t_file(a, "after1", "one");
    t_close(a);
    a = tar_new(f, GZIP, p[1], sizeof p[1]);
    t_big_file(a, "big2", 24 << 20, 'y');
    t_file(a, "big1", "replaced");
    t_close(a);
    a = tar_new(f, GZIP, p[2], sizeof p[2]);
    t_big_file(a, "big3", 20 << 20, 'z');
    t_close(a);
    sm_rootfs_layer l[3] = {{p[0], "sha256:01"}, {p[1], "sha256:02"}, {p[2], "sha256:03"}};
    snprintf(one, sizeof one, "%s/one.ext4", f->dir);
    snprintf(many, sizeof many, "%s/many.ext4", f->dir);
    sm_rootfs_options o1 = {.threads = 1}, o3 = {.threads = 3};
    assert_int_equal(sm_rootfs_build(l, 3, one, &o1), 0);
    assert_int_equal(sm_rootfs_build(l, 3, many, &o3), 0);
    assert_true(same_bytes(one, many));
    assert_fsck_clean(many);
    ext2_filsys fs = open_image(many);
    image_content(fs, "big1", "replaced");
    image_content(fs, "after1", "one");
    struct ext2_inode_large in;
    ext2_ino_t ino = image_lookup(fs, "big3", &in);
    ext2_file_t file;
    char buf[4096], want[4096];
    unsigned got = 0;
    memset(want, 'z', sizeof want);
    assert_int_equal(ext2fs_file_open(fs, ino, 0, &file), 0);
    assert_int_equal(ext2fs_file_llseek(file, (20 << 20) - 4096, EXT2_SEEK_SET, NULL), 0);
    assert_int_equal(ext2fs_file_read(file, buf, sizeof buf, &got), 0);
    assert_int_equal(got, sizeof buf);
    assert_memory_equal(buf, want, sizeof buf);
    ext2fs_file_close(file);
    ext2fs_close_free(&fs);
}

/* A later layer's error is not reported while an earlier one has its own. */
static void lowest_layer_error_wins(void **state)
{
    fixture *f = *state;
    char p1[128], p2[128], out[160];
    struct archive *a = tar_new(f, PLAIN, p1, sizeof p1);
    t_hardlink(a, "x", "missing");
    t_close(a);
    snprintf(p2, sizeof p2, "%s/garbage", f->dir);
    FILE *fp = fopen(p2, "w");
    for (int i = 0; i < 4000; i++)
        fputs("not a tar ", fp);
    fclose(fp);
    sm_rootfs_layer l[2] = {{p1, "sha256:01"}, {p2, "sha256:02"}};
    snprintf(out, sizeof out, "%s/err.ext4", f->dir);
    sm_rootfs_options o = {.threads = 2};
    assert_true(sm_rootfs_build(l, 2, out, &o) < 0);
    assert_error_has("layer 1 of 2");
    assert_error_has("'missing', which does not exist");
    assert_int_equal(access(out, F_OK), -1);
}

/* gzip members one after the other are one stream, as gzip(1) reads them;
 * a member whose checksum is wrong fails the layer. */
static void gzip_members_follow_each_other(void **state)
{
    fixture *f = *state;
    char p[128], cmd[512], out[160];
    struct archive *a = tar_new(f, PLAIN, p, sizeof p);
    t_file(a, "first", "1");
    t_file(a, "second", "2");
    t_close(a);
    snprintf(cmd, sizeof cmd, "cd %s && head -c 1024 layer1.tar | gzip -n > two.gz && "
             "tail -c +1025 layer1.tar | gzip -n >> two.gz", f->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s/two.gz", f->dir);
    assert_int_equal(apply(f, p), 0);
    assert_content(f, "first", "1");
    assert_content(f, "second", "2");
    /* The first member's CRC: 8 bytes before the second member starts. */
    snprintf(cmd, sizeof cmd, "cd %s && head -c 1024 layer1.tar | gzip -n > bad.gz && "
             "printf 'X' | dd of=bad.gz bs=1 seek=$(($(stat -c %%s bad.gz) - 8)) conv=notrunc "
             "2>/dev/null && tail -c +1025 layer1.tar | gzip -n >> bad.gz", f->dir);
    assert_int_equal(system(cmd), 0);
    snprintf(p, sizeof p, "%s/bad.gz", f->dir);
    snprintf(out, sizeof out, "%s/bad.ext4", f->dir);
    sm_rootfs_layer l = {.path = p, .digest = "sha256:bad"};
    assert_true(sm_rootfs_build(&l, 1, out, NULL) < 0);
    assert_error_has("truncated or corrupt layer");
    assert_error_has("checksum");
}

/* ---- layers read as they download ---- */

typedef struct feeder {
    sm_file_feed *feed;
    const char *from, *to;
    bool restart;     /* write half, then start over */
    int status;       /* how the feed ends */
} feeder;

static void feed_bytes(feeder *fd, int out, const char *buf, size_t len)
{
    for (size_t off = 0; off < len; off += 100) {
        size_t n = len - off < 100 ? len - off : 100;
        assert_int_equal(write(out, buf + off, n), (ssize_t)n);
        sm_file_feed_grow(fd->feed, n);
        usleep(200);
    }
}

static void *feeder_main(void *arg)
{
    feeder *fd = arg;
    FILE *in = fopen(fd->from, "rb");
    static char buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, in);
    fclose(in);
    int out = open(fd->to, O_RDWR | O_CREAT | O_TRUNC, 0644);
    sm_file_feed_attach(fd->feed, out);
    if (fd->restart) {
        feed_bytes(fd, out, buf, len / 2);
        sm_file_feed_restart(fd->feed); /* first, as the downloader does */
        assert_int_equal(ftruncate(out, 0), 0);
        assert_int_equal(lseek(out, 0, SEEK_SET), 0);
    }
    feed_bytes(fd, out, buf, len);
    close(out);
    sm_file_feed_end(fd->feed, fd->status);
    return NULL;
}

static int build_fed(fixture *f, const char *layer, bool restart, int status, const char *out)
{
    char to[160];
    snprintf(to, sizeof to, "%s/fed-%d", f->dir, (int)restart);
    sm_file_feed feed;
    assert_int_equal(sm_file_feed_init(&feed), 0);
    feeder fd = {.feed = &feed, .from = layer, .to = to, .restart = restart, .status = status};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, feeder_main, &fd), 0);
    sm_rootfs_layer l = {.path = to, .digest = "sha256:01", .feed = &feed};
    int err = sm_rootfs_build(&l, 1, out, NULL);
    if (err && !status)
        fprintf(stderr, "build_fed: %s\n", sm_last_error());
    pthread_join(t, NULL);
    sm_file_feed_destroy(&feed);
    return err;
}

/* A layer read while it is written gives the image its file gives; one
 * whose download started over too; one whose download failed gives none. */
static void layers_read_as_they_download(void **state)
{
    fixture *f = *state;
    char p[4][128], want[160], got[160];
    four_layers(f, p);
    sm_rootfs_layer l = {.path = p[0], .digest = "sha256:01"};
    snprintf(want, sizeof want, "%s/want.ext4", f->dir);
    assert_int_equal(sm_rootfs_build(&l, 1, want, NULL), 0);
    for (int restart = 0; restart < 2; restart++) {
        snprintf(got, sizeof got, "%s/got-%d.ext4", f->dir, restart);
        assert_int_equal(build_fed(f, p[0], restart, 0, got), 0);
        assert_true(same_bytes(want, got));
    }
    snprintf(got, sizeof got, "%s/failed.ext4", f->dir);
    assert_true(build_fed(f, p[0], false, -EBADMSG, got) < 0);
    assert_error_has("download failed");
    assert_int_equal(access(got, F_OK), -1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(whiteout_hides_lower_layers_only),
        T(opaque_dir_marker_first),
        T(opaque_dir_marker_last),
        T(hardlink_across_layers),
        T(file_and_directory_swap),
        T(dotdot_escape_is_refused),
        T(absolute_path_is_made_relative),
        T(symlinked_parent_resolves_inside),
        T(symlink_loop_fails),
        T(bad_hardlinks_fail),
        T(compression_is_told_by_bytes),
        T(image_keeps_metadata),
        T(truncated_layer_leaves_nothing),
        T(garbage_layer_fails),
        T(files_past_the_budget_fail),
        T(zeros_stay_holes),
        T(sparse_files_stay_sparse),
        T(files_lie_where_they_were_written),
        T(too_big_an_image_is_refused),
        T(cache_reuses_the_image),
        T(same_layers_same_bytes),
        T(parallel_decoding_same_bytes),
        T(spilling_layers_same_bytes),
        T(lowest_layer_error_wins),
        T(gzip_members_follow_each_other),
        T(layers_read_as_they_download),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
