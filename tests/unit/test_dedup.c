/* Dedup without a filesystem that can share: the run merging, the walk
 * over holes, and the unsupported path (tmpfs) that must change nothing.
 * Sharing itself is tested on XFS by tests/integration/dedup_test.py. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <cmocka.h>

#include "snapshot/dedup.h"
#include "snapshot/metadata.h"
#include "snapshot/snap_dir.h"
#include "persist/state_file.h"
#include "supermachine.h"

#define PAGE SM_DEDUP_PAGE

typedef struct emitted {
    uint64_t off[16], len[16];
    int n, fail_at;
} emitted;

static int collect(uint64_t off, uint64_t len, void *ctx)
{
    emitted *e = ctx;
    if (e->n == e->fail_at)
        return -EIO;
    e->off[e->n] = off;
    e->len[e->n++] = len;
    return 0;
}

static void runs_merge_and_break(void **state)
{
    (void)state;
    emitted e = {.fail_at = -1};
    sm_dedup_runs r = {.max_run = 3 * PAGE, .emit = collect, .ctx = &e};
    /* pages 0-1 identical, 2 differs, 3-7 identical (capped at 3 pages),
     * then a gap: 10 identical stands alone. */
    static const int same[] = {1, 1, 0, 1, 1, 1, 1, 1};
    for (int i = 0; i < 8; i++)
        assert_int_equal(sm_dedup_runs_page(&r, (uint64_t)i * PAGE, same[i]), 0);
    assert_int_equal(sm_dedup_runs_page(&r, 10 * PAGE, 1), 0);
    assert_int_equal(sm_dedup_runs_flush(&r), 0);
    assert_int_equal(sm_dedup_runs_flush(&r), 0);   /* nothing pending: nothing emitted */
    static const uint64_t off[] = {0, 3 * PAGE, 6 * PAGE, 10 * PAGE};
    static const uint64_t len[] = {2 * PAGE, 3 * PAGE, 2 * PAGE, PAGE};
    assert_int_equal(e.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(e.off[i], off[i]);
        assert_int_equal(e.len[i], len[i]);
    }

    /* An emit that fails stops the walk with its error. */
    emitted f = {.fail_at = 0};
    sm_dedup_runs r2 = {.max_run = 8 * PAGE, .emit = collect, .ctx = &f};
    assert_int_equal(sm_dedup_runs_page(&r2, 0, 1), 0);
    assert_int_equal(sm_dedup_runs_page(&r2, PAGE, 0), -EIO);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* A scratch directory on tmpfs, which can never share extents. */
static int shm_setup(void **state)
{
    struct statfs sf;
    char *dir = strdup("/dev/shm/sm-dedup-XXXXXX");
    if (!dir || statfs("/dev/shm", &sf) < 0 || sf.f_type != TMPFS_MAGIC || !mkdtemp(dir)) {
        fprintf(stderr, "test_dedup needs /dev/shm on tmpfs\n");
        return -1;
    }
    *state = dir;
    return 0;
}

static int shm_teardown(void **state)
{
    nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

/* 64 pages: page i holds `i + salt` in its first byte, except holes at
 * i % 4 == 1 and, in `extra_hole`, at i % 4 == 2. */
static void make_ram(uint8_t *ram, uint8_t salt, int extra_hole)
{
    memset(ram, 0, 64 * PAGE);
    for (int i = 0; i < 64; i++)
        if (i % 4 != 1 && !(extra_hole && i % 4 == 2))
            ram[i * PAGE] = (uint8_t)(i + salt + 1);
}

static void write_memory(const char *path, uint8_t salt, int extra_hole)
{
    static uint8_t ram[64 * PAGE];
    make_ram(ram, salt, extra_hole);
    assert_int_equal(sm_snap_memory_write(path, ram, sizeof ram, NULL), 0);
}

static void make_snapshot(const char *dir, const char *name, uint8_t salt)
{
    char final[PATH_MAX], p[PATH_MAX];
    snprintf(final, sizeof final, "%s/%s", dir, name);
    sm_snap_dir_tx tx;
    assert_int_equal(sm_snap_dir_begin(final, &tx), 0);
    assert_int_equal(sm_snap_dir_file(&tx, SM_SNAP_MEMORY_FILE, p, sizeof p), 0);
    write_memory(p, salt, 0);
    sm_snap_meta m = {.memory_mib = 1, .vcpus = 1, .created = 1700000000};
    snprintf(m.image_ref, sizeof m.image_ref, "docker.io/library/t:1");
    snprintf(m.manifest_digest, sizeof m.manifest_digest, "sha256:%064d", 0);
    snprintf(m.kernel_id, sizeof m.kernel_id, "k");
    snprintf(m.init_id, sizeof m.init_id, "i");
    snprintf(m.fingerprint, sizeof m.fingerprint, "%s", name);
    assert_int_equal(sm_snap_dir_file(&tx, SM_SNAP_META_FILE, p, sizeof p), 0);
    assert_int_equal(sm_snap_meta_write(p, &m), 0);
    sm_snap_writer *w;
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    assert_int_equal(sm_snap_dir_file(&tx, SM_SNAP_STATE_FILE, p, sizeof p), 0);
    assert_int_equal(sm_snap_writer_finish_file(w, p), 0);
    assert_int_equal(sm_snap_dir_commit(&tx), 0);
}

/* The walk visits only pages that hold data in both files; with nothing
 * identical it never asks the filesystem to share, so tmpfs is no obstacle. */
static void walk_skips_holes(void **state)
{
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s/a", (char *)*state);
    snprintf(b, sizeof b, "%s/b", (char *)*state);
    write_memory(a, 0, 0);    /* data in 48 of 64 pages */
    write_memory(b, 100, 1);  /* data in 32, all different from a's */
    int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
    assert_true(fa >= 0 && fb >= 0);
    sm_snap_dedup_stats st = {0};
    assert_int_equal(sm_dedup_file(fa, fb, b, &st), 0);
    assert_int_equal(st.bytes_compared, 32 * PAGE);
    assert_int_equal(st.bytes_shared, 0);

    /* A file against itself is nothing to do. */
    sm_snap_dedup_stats st2 = {0};
    int fa2 = open(a, O_RDONLY);
    assert_true(fa2 >= 0);
    assert_int_equal(sm_dedup_file(fa, fa2, a, &st2), 0);
    assert_int_equal(st2.bytes_compared, 0);
    close(fa2);

    /* Identical pages: the filesystem is asked, and refuses. */
    write_memory(b, 0, 1);
    assert_int_equal(sm_dedup_file(fa, fb, b, &st2), -EOPNOTSUPP);
    assert_int_equal(st2.bytes_shared, 0);
    close(fa);
    close(fb);
}

typedef struct file_state {
    uint8_t data[64 * PAGE];
    struct stat st;
} file_state;

static void snapshot_memory(const char *dir, const char *name, file_state *fs)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s/" SM_SNAP_MEMORY_FILE, dir, name);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, fs->data, sizeof fs->data, 0), (ssize_t)sizeof fs->data);
    assert_int_equal(fstat(fd, &fs->st), 0);
    close(fd);
}

static void unchanged(const char *dir, const char *name, const file_state *before)
{
    static file_state now;
    snapshot_memory(dir, name, &now);
    assert_memory_equal(now.data, before->data, sizeof now.data);
    assert_int_equal(now.st.st_ino, before->st.st_ino);
    assert_int_equal(now.st.st_blocks, before->st.st_blocks);
    assert_int_equal(now.st.st_mtim.tv_sec, before->st.st_mtim.tv_sec);
    assert_int_equal(now.st.st_mtim.tv_nsec, before->st.st_mtim.tv_nsec);
    assert_int_equal(now.st.st_ctim.tv_nsec, before->st.st_ctim.tv_nsec);
}

static void unsupported_changes_nothing(void **state)
{
    const char *dir = *state;
    make_snapshot(dir, "one", 0);
    make_snapshot(dir, "two", 0);
    static file_state one, two;
    snapshot_memory(dir, "one", &one);
    snapshot_memory(dir, "two", &two);

    sm_snap_dedup_stats st = {0};
    assert_int_equal(sm_snap_dedup_dir(dir, &st), -EOPNOTSUPP);
    assert_true(st.unsupported);
    assert_string_equal(st.fs_name, "tmpfs");
    assert_int_equal(st.bytes_shared, 0);
    char want[PATH_MAX + 200];
    snprintf(want, sizeof want, "dedup: %s is on tmpfs, which cannot share file extents "
             "(XFS with reflink=1 or btrfs can); nothing was changed", dir);
    assert_string_equal(sm_last_error(), want);

    /* After a bake the same is no error: a bake on tmpfs must not fail. */
    char two_path[PATH_MAX];
    snprintf(two_path, sizeof two_path, "%s/two/", dir);
    sm_snap_dedup_stats st2 = {0};
    assert_int_equal(sm_snap_dedup_new(dir, two_path, &st2), 0);
    assert_true(st2.unsupported);
    assert_string_equal(st2.fs_name, "tmpfs");

    /* The public call says the same. */
    sm_dedup_result r = {.size = sizeof r};
    assert_int_equal(sm_snapshot_dedup(dir, &r), -EOPNOTSUPP);
    assert_non_null(strstr(sm_last_error(), "nothing was changed"));
    assert_int_equal(r.bytes_shared, 0);

    unchanged(dir, "one", &one);
    unchanged(dir, "two", &two);
}

static void public_call_defaults_and_errors(void **state)
{
    const char *dir = *state;
    char p[PATH_MAX];
    /* A named directory that does not exist is an error... */
    snprintf(p, sizeof p, "%s/none", dir);
    sm_dedup_result r = {.size = sizeof r};
    assert_int_equal(sm_snapshot_dedup(p, &r), -ENOENT);
    assert_non_null(strstr(sm_last_error(), p));
    /* ...the default one that does not exist yet means nothing to do. */
    setenv("SUPERMACHINE_DATA_DIR", dir, 1);
    r = (sm_dedup_result){.size = sizeof r, .snapshots = 9};
    assert_int_equal(sm_snapshot_dedup(NULL, &r), 0);
    assert_int_equal(r.snapshots, 0);
    assert_int_equal(r.size, sizeof r);
    /* Once there, it is used. */
    snprintf(p, sizeof p, "%s/snapshots", dir);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(sm_snapshot_dedup(NULL, NULL), -EOPNOTSUPP);
    assert_non_null(strstr(sm_last_error(), p));
    unsetenv("SUPERMACHINE_DATA_DIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(runs_merge_and_break),
        cmocka_unit_test_setup_teardown(walk_skips_holes, shm_setup, shm_teardown),
        cmocka_unit_test_setup_teardown(unsupported_changes_nothing, shm_setup, shm_teardown),
        cmocka_unit_test_setup_teardown(public_call_defaults_and_errors, shm_setup,
                                        shm_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
