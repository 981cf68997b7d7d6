/*
 * The 9P server against a real scratch tree, driven without a VM: what a
 * guest can and cannot reach, read-only exports, single-file exports and
 * the operations the Linux client uses.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "p9_client.h"
#include "p9_fixture.h"

#define ROOT 1
#define O_RDONLY_ 0u
#define O_WRONLY_ 1u
#define O_RDWR_ 2u
#define O_TRUNC_ 01000u

typedef struct fx {
    p9_tree t;
    p9c c;
} fx;

static int open_export(fx *f, const char *rel, bool ro)
{
    char path[160];
    snprintf(path, sizeof path, "%s%s%s", f->t.share, *rel ? "/" : "", rel);
    if (sm_p9_server_create(path, ro, &f->c.s) != 0)
        return -1;
    if (p9c_version(&f->c, SM_P9_MAX_MSIZE, "9P2000.L", NULL) || p9c_attach(&f->c, ROOT))
        return -1;
    return 0;
}

static int setup_with(void **state, const char *rel, bool ro)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || p9_tree_make(&f->t) < 0 || open_export(f, rel, ro) < 0) {
        fprintf(stderr, "cannot set up the 9p fixture\n");
        return -1;
    }
    *state = f;
    return 0;
}

static int setup_rw(void **state) { return setup_with(state, "", false); }
static int setup_ro(void **state) { return setup_with(state, "", true); }
static int setup_file(void **state) { return setup_with(state, "hello.txt", false); }
static int setup_file_ro(void **state) { return setup_with(state, "hello.txt", true); }

static int teardown(void **state)
{
    fx *f = *state;
    sm_p9_server_destroy(f->c.s);
    p9_tree_remove(&f->t);
    free(f);
    return 0;
}

static void walk_open_read(p9c *c, const char *path, const char *want)
{
    char buf[256];
    uint32_t n;
    assert_int_equal(p9c_walk(c, ROOT, 50, NULL, path), 0);
    assert_int_equal(p9c_lopen(c, 50, O_RDONLY_), 0);
    assert_int_equal(p9c_read(c, 50, 0, sizeof buf, buf, &n), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
    assert_int_equal(p9c_clunk(c, 50), 0);
}

/* ---- walking: nothing outside the export can be named ---- */

static void walk_rejects_dot_dot_and_slashes(void **state)
{
    p9c *c = &((fx *)*state)->c;
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, ".."), EINVAL);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "."), EINVAL);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "sub/../../outside.txt"), EINVAL);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "/etc"), EINVAL);
    /* ".." after a good element: the walk stops there, newfid not made. */
    int n = -1;
    assert_int_equal(p9c_walk(c, ROOT, 2, &n, "sub|..|..|outside.txt"), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p9c_clunk(c, 2), EBADF);
}

static void symlinks_are_never_followed_on_the_host(void **state)
{
    p9c *c = &((fx *)*state)->c;
    char target[256];
    int n = -1;
    /* The links themselves can be walked to and read, as strings. */
    assert_int_equal(p9c_walk(c, ROOT, 2, &n, "up"), 0);
    assert_int_equal(p9c_readlink(c, 2, target, sizeof target), 0);
    assert_string_equal(target, "../outside.txt");
    /* Opening one does not open its target. */
    assert_int_equal(p9c_lopen(c, 2, O_RDONLY_), ELOOP);
    /* Nor does walking through one. */
    assert_int_equal(p9c_walk(c, ROOT, 3, &n, "abs|outside.txt"), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p9c_walk(c, ROOT, 3, &n, "etc|passwd"), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p9c_walk(c, 2, 3, NULL, "x"), ENOTDIR);
    /* A link the guest makes is no door either. */
    assert_int_equal(p9c_symlink(c, ROOT, "root", "/"), 0);
    assert_int_equal(p9c_walk(c, ROOT, 3, &n, "root|etc"), 0);
    assert_int_equal(n, 1);
    /* And creating through a link fails rather than writing its target. */
    assert_int_equal(p9c_walk(c, ROOT, 4, NULL, ""), 0);
    assert_int_not_equal(p9c_lcreate(c, 4, "up", O_WRONLY_, 0644), 0);
    char buf[64];
    assert_int_equal(p9_tree_read(&((fx *)*state)->t, "../outside.txt", buf, sizeof buf), 0);
    assert_string_equal(buf, "SECRET\n");
}

/* ---- a read-write export ---- */

static void create_write_read_back(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    uint32_t n, mode, uid;
    uint64_t size;
    char buf[64];
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, ""), 0);
    assert_int_equal(p9c_lcreate(c, 2, "new.txt", O_RDWR_, 0640), 0);
    assert_int_equal(p9c_write(c, 2, 0, "written by the guest\n", 21), 0);
    assert_int_equal(p9c_read(c, 2, 8, 10, buf, &n), 0);
    assert_int_equal(n, 10);
    assert_memory_equal(buf, "by the gue", 10);
    assert_int_equal(p9c_clunk(c, 2), 0);
    assert_int_equal(p9_tree_read(&f->t, "new.txt", buf, sizeof buf), 0);
    assert_string_equal(buf, "written by the guest\n");
    /* The host's own owner and mode are reported. */
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, "new.txt"), 0);
    assert_int_equal(p9c_getattr(c, 3, &mode, &uid, &size), 0);
    assert_int_equal(mode, S_IFREG | 0640);
    assert_int_equal(uid, getuid());
    assert_int_equal(size, 21);
}

static void directory_operations(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    char names[1024];
    assert_int_equal(p9c_mkdir(c, ROOT, "d", 0755), 0);
    assert_int_equal(p9c_renameat(c, ROOT, "sibling.txt", ROOT, "renamed.txt"), 0);
    assert_true(p9_tree_exists(&f->t, "renamed.txt"));
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "renamed.txt"), 0);
    assert_int_equal(p9c_link(c, ROOT, 2, "hard.txt"), 0);
    assert_true(p9_tree_exists(&f->t, "hard.txt"));
    assert_int_equal(p9c_unlinkat(c, ROOT, "hard.txt", 0), 0);
    assert_int_equal(p9c_unlinkat(c, ROOT, "d", 0x200), 0);
    assert_false(p9_tree_exists(&f->t, "d"));
    /* A listing, read a few entries at a time, has every name once. */
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, ""), 0);
    assert_int_equal(p9c_lopen(c, 3, O_RDONLY_), 0);
    assert_int_equal(p9c_readdir_all(c, 3, 64, names, sizeof names), 0);
    const char *want[] = {".", "..", "hello.txt", "renamed.txt", "sub", "up", "abs", "etc"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_true(p9_has_word(names, want[i]));
    assert_false(p9_has_word(names, "outside.txt"));
}

static void remove_checks_the_name_still_fits(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    /* Moved away and replaced by another file under the old name. */
    assert_int_equal(p9c_renameat(c, ROOT, "hello.txt", ROOT, "moved.txt"), 0);
    assert_int_equal(p9c_renameat(c, ROOT, "sibling.txt", ROOT, "hello.txt"), 0);
    assert_int_equal(p9c_remove(c, 2), ESTALE);
    assert_true(p9_tree_exists(&f->t, "hello.txt"));
    assert_int_equal(p9c_clunk(c, 2), EBADF);  /* Tremove clunked it anyway */
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, "moved.txt"), 0);
    assert_int_equal(p9c_remove(c, 3), 0);
    assert_false(p9_tree_exists(&f->t, "moved.txt"));
}

static void no_setuid_files_and_no_devices(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    struct stat st;
    char p[200];
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_setattr_mode(c, 2, 06755), 0);
    snprintf(p, sizeof p, "%s/hello.txt", f->t.share);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(p9c_mknod(c, ROOT, "dev", S_IFCHR | 0666), EPERM);
    assert_int_equal(p9c_mknod(c, ROOT, "dev", S_IFBLK | 0666), EPERM);
    assert_false(p9_tree_exists(&f->t, "dev"));
    assert_int_equal(p9c_mknod(c, ROOT, "fifo", S_IFIFO | 0644), 0);
    snprintf(p, sizeof p, "%s/fifo", f->t.share);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
}

static uid_t owner(const fx *f, const char *rel)
{
    char p[200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", f->t.share, rel);
    assert_int_equal(lstat(p, &st), 0);
    return st.st_uid;
}

/* What a guest user makes is that user's on the host, where the server
 * may chown (as root); what exists already keeps its owner. */
static void creations_belong_to_their_guest_user(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    uid_t want = geteuid() == 0 ? 1234 : getuid();
    uid_t before = owner(f, "hello.txt");
    assert_int_equal(p9c_attach_as(c, 50, 1234), 0);
    assert_int_equal(p9c_walk(c, 50, 51, NULL, ""), 0);
    assert_int_equal(p9c_lcreate(c, 51, "mine", O_WRONLY_, 0644), 0);
    assert_int_equal(p9c_mkdir(c, 50, "mydir", 0755), 0);
    assert_int_equal(p9c_symlink(c, 50, "mylink", "mine"), 0);
    assert_int_equal(p9c_mknod(c, 50, "myfifo", S_IFIFO | 0644), 0);
    assert_int_equal(owner(f, "mine"), want);
    assert_int_equal(owner(f, "mydir"), want);
    assert_int_equal(owner(f, "mylink"), want);
    assert_int_equal(owner(f, "myfifo"), want);
    assert_int_equal(p9c_walk(c, 50, 52, NULL, ""), 0);
    assert_int_equal(p9c_lcreate(c, 52, "hello.txt", O_WRONLY_, 0644), 0);
    assert_int_equal(owner(f, "hello.txt"), before);
}

static void bad_names_in_changes(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    assert_int_equal(p9c_mkdir(c, ROOT, "..", 0755), EINVAL);
    assert_int_equal(p9c_mkdir(c, ROOT, "a/b", 0755), EINVAL);
    assert_int_equal(p9c_unlinkat(c, ROOT, "../outside.txt", 0), EINVAL);
    assert_int_equal(p9c_renameat(c, ROOT, "hello.txt", ROOT, "../stolen"), EINVAL);
    assert_int_equal(p9c_symlink(c, ROOT, "..", "x"), EINVAL);
    assert_true(p9_tree_exists(&f->t, "hello.txt"));
}

/* ---- a read-only export: EROFS at the server, whatever the mount says ---- */

static void read_only_refuses_every_change(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    walk_open_read(c, "hello.txt", "hello\n");
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_lopen(c, 2, O_WRONLY_), EROFS);
    assert_int_equal(p9c_lopen(c, 2, O_RDWR_), EROFS);
    assert_int_equal(p9c_lopen(c, 2, O_RDONLY_ | O_TRUNC_), EROFS);
    assert_int_equal(p9c_setattr_mode(c, 2, 0777), EROFS);
    assert_int_equal(p9c_lopen(c, 2, O_RDONLY_), 0);
    assert_int_equal(p9c_write(c, 2, 0, "x", 1), EROFS);
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, ""), 0);
    assert_int_equal(p9c_lcreate(c, 3, "new", O_WRONLY_, 0644), EROFS);
    assert_int_equal(p9c_mkdir(c, ROOT, "d", 0755), EROFS);
    assert_int_equal(p9c_symlink(c, ROOT, "l", "x"), EROFS);
    assert_int_equal(p9c_mknod(c, ROOT, "p", S_IFIFO | 0644), EROFS);
    assert_int_equal(p9c_link(c, ROOT, 2, "h"), EROFS);
    assert_int_equal(p9c_unlinkat(c, ROOT, "hello.txt", 0), EROFS);
    assert_int_equal(p9c_renameat(c, ROOT, "hello.txt", ROOT, "x"), EROFS);
    assert_int_equal(p9c_walk(c, ROOT, 4, NULL, "sibling.txt"), 0);
    assert_int_equal(p9c_remove(c, 4), EROFS);
    char buf[64];
    assert_int_equal(p9_tree_read(&f->t, "hello.txt", buf, sizeof buf), 0);
    assert_string_equal(buf, "hello\n");
    assert_true(p9_tree_exists(&f->t, "sibling.txt"));
    assert_false(p9_tree_exists(&f->t, "new") || p9_tree_exists(&f->t, "d") ||
                 p9_tree_exists(&f->t, "l") || p9_tree_exists(&f->t, "x"));
}

/* ---- a single-file export: that file alone ---- */

static void file_export_shows_only_the_file(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    char names[256];
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, ""), 0);
    assert_int_equal(p9c_lopen(c, 2, O_RDONLY_), 0);
    assert_int_equal(p9c_readdir_all(c, 2, 4096, names, sizeof names), 0);
    assert_string_equal(names, ". .. hello.txt");
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, "sibling.txt"), ENOENT);
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, "sub"), ENOENT);
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, ".."), EINVAL);
    int n = -1;
    assert_int_equal(p9c_walk(c, ROOT, 3, &n, "hello.txt|.."), 0);
    assert_int_equal(n, 1);
    assert_int_equal(p9c_clunk(c, 3), EBADF);
    walk_open_read(c, "hello.txt", "hello\n");
}

static void file_export_keeps_its_directory(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    /* The file can be written; nothing beside it can be made or removed. */
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_lopen(c, 2, O_WRONLY_), 0);
    assert_int_equal(p9c_write(c, 2, 0, "HELLO\n", 6), 0);
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, ""), 0);
    assert_int_equal(p9c_lcreate(c, 3, "planted", O_WRONLY_, 0644), EPERM);
    assert_int_equal(p9c_mkdir(c, ROOT, "d", 0755), EPERM);
    assert_int_equal(p9c_unlinkat(c, ROOT, "hello.txt", 0), EPERM);
    assert_int_equal(p9c_renameat(c, ROOT, "hello.txt", ROOT, "x"), EPERM);
    assert_int_equal(p9c_walk(c, ROOT, 4, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_remove(c, 4), EPERM);
    char buf[64];
    assert_int_equal(p9_tree_read(&f->t, "hello.txt", buf, sizeof buf), 0);
    assert_string_equal(buf, "HELLO\n");
    assert_false(p9_tree_exists(&f->t, "planted"));
}

static void read_only_file_export(void **state)
{
    p9c *c = &((fx *)*state)->c;
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_lopen(c, 2, O_WRONLY_), EROFS);
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, ""), 0);
    assert_int_equal(p9c_lcreate(c, 3, "planted", O_WRONLY_, 0644), EROFS);
    walk_open_read(c, "hello.txt", "hello\n");
}

static void cannot_export_missing_or_special(void **state)
{
    (void)state;
    sm_p9_server *s;
    assert_int_equal(sm_p9_server_create("/nonexistent/sm-share", false, &s), -ENOENT);
    assert_int_equal(sm_p9_server_create("/dev/null", false, &s), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(walk_rejects_dot_dot_and_slashes, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(symlinks_are_never_followed_on_the_host, setup_rw,
                                        teardown),
        cmocka_unit_test_setup_teardown(create_write_read_back, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(directory_operations, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(remove_checks_the_name_still_fits, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(no_setuid_files_and_no_devices, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(creations_belong_to_their_guest_user, setup_rw,
                                        teardown),
        cmocka_unit_test_setup_teardown(bad_names_in_changes, setup_rw, teardown),
        cmocka_unit_test_setup_teardown(read_only_refuses_every_change, setup_ro, teardown),
        cmocka_unit_test_setup_teardown(file_export_shows_only_the_file, setup_file, teardown),
        cmocka_unit_test_setup_teardown(file_export_keeps_its_directory, setup_file, teardown),
        cmocka_unit_test_setup_teardown(read_only_file_export, setup_file_ro, teardown),
        cmocka_unit_test(cannot_export_missing_or_special),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
