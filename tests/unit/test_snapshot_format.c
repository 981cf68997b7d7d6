#include <errno.h>
#include <fcntl.h>
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

#include "snapshot/metadata.h"
#include "snapshot/snap_dir.h"
#include "persist/state_file.h"
#include "persist/state_layout.h"
#include "supermachine.h"
#include "util/error.h"
#include "util/le.h"

static const uint8_t regs0[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t regs1[] = {0xaa, 0xbb, 0xcc};
static const uint8_t dev[] = "virtio-blk at 0xd0000000";

/* A small blob with sections of odd and zero lengths. */
static void small_blob(uint8_t **blob, size_t *len)
{
    sm_snap_writer *w;
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VCPU_REGS, 0, 0, regs0,
                                                sizeof regs0), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VCPU_REGS, 1, 0, regs1,
                                                sizeof regs1), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VM_CLOCK, 0, 0, NULL, 0), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_DEVICE, 3, 0, dev, sizeof dev), 0);
    assert_int_equal(sm_snap_writer_finish_mem(w, blob, len), 0);
}

static void expect_section(const sm_snap_reader *r, uint32_t type, uint16_t index,
                           const void *data, size_t len)
{
    const sm_snap_section *s = sm_snap_reader_find(r, type, index);
    assert_non_null(s);
    assert_int_equal(s->len, len);
    if (len)
        assert_memory_equal(s->data, data, len);
}

static void round_trip(void **state)
{
    (void)state;
    uint8_t *blob;
    size_t len;
    small_blob(&blob, &len);
    assert_int_equal(len % 8, 0);
    assert_memory_equal(blob, "SMSNAP\0\0", 8);
    sm_snap_reader *r;
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), 0);
    assert_int_equal(sm_snap_reader_count(r), 4);
    expect_section(r, SM_SNAP_VCPU_REGS, 0, regs0, sizeof regs0);
    expect_section(r, SM_SNAP_VCPU_REGS, 1, regs1, sizeof regs1);
    expect_section(r, SM_SNAP_VM_CLOCK, 0, NULL, 0);
    expect_section(r, SM_SNAP_DEVICE, 3, dev, sizeof dev);
    assert_int_equal(sm_snap_reader_at(r, 3)->type, SM_SNAP_DEVICE);  /* written order */
    assert_null(sm_snap_reader_at(r, 4));
    assert_null(sm_snap_reader_find(r, SM_SNAP_VCPU_REGS, 2));
    const sm_snap_section *s;
    assert_int_equal(sm_snap_reader_need(r, SM_SNAP_VM_PIT, 0, &s), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "lacks section"));
    sm_snap_reader_close(r);
    free(blob);
}

static void writer_refuses_duplicates_and_bad_flags(void **state)
{
    (void)state;
    sm_snap_writer *w;
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VCPU_FPU, 0, 0, regs0, 4), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VCPU_FPU, 0, 0, regs0, 4), -EEXIST);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VCPU_FPU, 1, 0x8000, regs0, 4),
                     -EINVAL);
    sm_snap_writer_abort(w);
}

static void truncated_at_every_length_refused(void **state)
{
    (void)state;
    uint8_t *blob;
    size_t len;
    small_blob(&blob, &len);
    for (size_t n = 0; n < len; n++) {
        sm_snap_reader *r = NULL;
        sm_clear_error();
        assert_true(sm_snap_reader_open_mem(blob, n, &r) < 0);
        assert_null(r);
        assert_non_null(strstr(sm_last_error(), "snapshot"));
    }
    free(blob);
}

static void every_bit_flip_refused(void **state)
{
    (void)state;
    uint8_t *blob;
    size_t len;
    small_blob(&blob, &len);
    for (size_t bit = 0; bit < len * 8; bit++) {
        blob[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        sm_snap_reader *r = NULL;
        int rc = sm_snap_reader_open_mem(blob, len, &r);
        if (rc == 0)
            fail_msg("flip of bit %zu accepted", bit);
        blob[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    sm_snap_reader *r;
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), 0);  /* restored: fine */
    sm_snap_reader_close(r);
    free(blob);
}

/* Rewrites a header field and re-seals, so only that field is wrong. */
static void reseal(uint8_t *blob, size_t len)
{
    assert_int_equal(sm_snap_state_digest(blob, len, blob + SM_SNAP_OFF_DIGEST), 0);
}

static void wrong_version_refused(void **state)
{
    (void)state;
    uint8_t *blob;
    size_t len;
    small_blob(&blob, &len);
    sm_le32_put(blob + SM_SNAP_OFF_VERSION, SM_SNAP_FORMAT_VERSION + 1);
    reseal(blob, len);
    sm_snap_reader *r;
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), -EPROTONOSUPPORT);
    assert_non_null(strstr(sm_last_error(), "another version and must be baked again"));
    free(blob);
}

static void sealed_but_malformed_refused(void **state)
{
    (void)state;
    uint8_t *blob;
    size_t len;
    small_blob(&blob, &len);
    sm_snap_reader *r;
    /* A section longer than the file, with a valid checksum. */
    sm_le64_put(blob + SM_SNAP_HEADER_SIZE + SM_SNAP_SOFF_LEN, UINT64_MAX - 3);
    reseal(blob, len);
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), -EPROTO);
    assert_non_null(strstr(sm_last_error(), "remain"));
    free(blob);
    /* More sections claimed than exist. */
    small_blob(&blob, &len);
    sm_le32_put(blob + SM_SNAP_OFF_COUNT, 5);
    reseal(blob, len);
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), -EPROTO);
    /* Fewer: stray bytes at the end. */
    sm_le32_put(blob + SM_SNAP_OFF_COUNT, 3);
    reseal(blob, len);
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), -EPROTO);
    assert_non_null(strstr(sm_last_error(), "stray"));
    free(blob);
}

static void unknown_sections(void **state)
{
    (void)state;
    sm_snap_writer *w;
    uint8_t *blob;
    size_t len;
    sm_snap_reader *r;
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    assert_int_equal(sm_snap_writer_add_section(w, 0x7777, 0, SM_SNAP_SECTION_OPTIONAL,
                                                regs0, sizeof regs0), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VCPU_XCRS, 0, 0, regs1,
                                                sizeof regs1), 0);
    assert_int_equal(sm_snap_writer_finish_mem(w, &blob, &len), 0);
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), 0);
    assert_int_equal(sm_snap_reader_count(r), 1);
    assert_null(sm_snap_reader_find(r, 0x7777, 0));
    expect_section(r, SM_SNAP_VCPU_XCRS, 0, regs1, sizeof regs1);
    sm_snap_reader_close(r);
    free(blob);

    assert_int_equal(sm_snap_writer_begin(&w), 0);
    assert_int_equal(sm_snap_writer_add_section(w, 0x7777, 0, 0, regs0, sizeof regs0), 0);
    assert_int_equal(sm_snap_writer_finish_mem(w, &blob, &len), 0);
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), -EPROTONOSUPPORT);
    assert_non_null(strstr(sm_last_error(), "unknown type 0x7777"));
    free(blob);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static int scratch_setup(void **state)
{
    char *dir = strdup("/tmp/sm-snapfmt-XXXXXX");
    if (!dir || !mkdtemp(dir))
        return -1;
    *state = dir;
    return 0;
}

static int scratch_teardown(void **state)
{
    nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static void path_in(char *out, const char *dir, const char *name)
{
    assert_true(snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
}

static void state_file_on_disk(void **state)
{
    char path[PATH_MAX];
    path_in(path, *state, "state");
    sm_snap_writer *w;
    sm_snap_reader *r;
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    assert_int_equal(sm_snap_writer_add_section(w, SM_SNAP_VCPU_LAPIC, 2, 0, dev,
                                                sizeof dev), 0);
    assert_int_equal(sm_snap_writer_finish_file(w, path), 0);
    assert_int_equal(sm_snap_reader_open(path, &r), 0);
    expect_section(r, SM_SNAP_VCPU_LAPIC, 2, dev, sizeof dev);
    sm_snap_reader_close(r);
    /* Cut the file short: refused, naming the file. */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 1), 0);
    assert_int_equal(sm_snap_reader_open(path, &r), -EPROTO);
    assert_non_null(strstr(sm_last_error(), path));
    assert_non_null(strstr(sm_last_error(), "truncated"));
}

static sm_snap_meta sample_meta(void)
{
    sm_snap_meta m = {.memory_mib = 512, .vcpus = 2, .created = 1700000000};
    strcpy(m.image_ref, "docker.io/library/alpine:3.20");
    strcpy(m.manifest_digest, "sha256:0123456789abcdef0123456789abcdef"
                              "0123456789abcdef0123456789abcdef");
    strcpy(m.kernel_id, "kernel-abc");
    strcpy(m.init_id, "init-def");
    strcpy(m.fingerprint, "fp-123");
    return m;
}

static void metadata_round_trip(void **state)
{
    char path[PATH_MAX];
    path_in(path, *state, "metadata.json");
    sm_snap_meta m = sample_meta(), back;
    assert_int_equal(sm_snap_meta_write(path, &m), 0);
    assert_int_equal(sm_snap_meta_read(path, &back), 0);
    assert_int_equal(back.format_version, SM_SNAP_FORMAT_VERSION);
    assert_string_equal(back.image_ref, m.image_ref);
    assert_string_equal(back.manifest_digest, m.manifest_digest);
    assert_string_equal(back.kernel_id, m.kernel_id);
    assert_string_equal(back.init_id, m.init_id);
    assert_string_equal(back.fingerprint, m.fingerprint);
    assert_string_equal(back.parent, "");
    assert_int_equal(back.memory_mib, 512);
    assert_int_equal(back.vcpus, 2);
    assert_int_equal(back.created, 1700000000);

    strcpy(m.parent, "fp-parent");
    assert_int_equal(sm_snap_meta_write(path, &m), 0);
    assert_int_equal(sm_snap_meta_read(path, &back), 0);
    assert_string_equal(back.parent, "fp-parent");

    m.vcpus = 0;
    assert_int_equal(sm_snap_meta_write(path, &m), -EINVAL);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void metadata_refused(void **state)
{
    char path[PATH_MAX];
    path_in(path, *state, "metadata.json");
    sm_snap_meta m;
    write_text(path, "{\"format_version\": 99, \"image\": \"x\"}");
    assert_int_equal(sm_snap_meta_read(path, &m), -EPROTONOSUPPORT);
    assert_non_null(strstr(sm_last_error(), "made by another version and must be baked again"));

    static const char fmt[] = "{\"format_version\": 1, \"image\": \"a\", "
        "\"manifest_digest\": \"b\", \"kernel_id\": \"c\", \"init_id\": \"d\", "
        "\"memory_mib\": 64, \"vcpus\": %s, \"created\": \"2024-01-01T00:00:00Z\", "
        "\"fingerprint\": \"e\"}";
    char text[512];
    snprintf(text, sizeof text, fmt, "2");  /* hand-written, well-formed: accepted */
    write_text(path, text);
    assert_int_equal(sm_snap_meta_read(path, &m), 0);
    assert_int_equal(m.vcpus, 2);
    assert_int_equal(m.created, 1704067200);
    snprintf(text, sizeof text, fmt, "\"2\"");  /* the same with a mistyped field */
    write_text(path, text);
    assert_int_equal(sm_snap_meta_read(path, &m), -EPROTO);
    assert_non_null(strstr(sm_last_error(), "\"vcpus\""));

    write_text(path, "{\"format_version\": 1");
    assert_int_equal(sm_snap_meta_read(path, &m), -EPROTO);
}

static void sparse_memory_keeps_holes(void **state)
{
    char path[PATH_MAX];
    path_in(path, *state, "memory");
    size_t len = 16u << 20;
    uint8_t *ram = calloc(1, len);
    assert_non_null(ram);
    ram[0] = 1;                        /* first page */
    memset(ram + 5 * 4096, 0x5a, 3 * 4096);  /* a run of three */
    ram[len - 1] = 7;                  /* last page */
    uint64_t allocated = 0;
    assert_int_equal(sm_snap_memory_write(path, ram, len, &allocated), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, len);
    assert_true((uint64_t)st.st_blocks * 512 < len / 8);
    assert_int_equal(allocated, (uint64_t)st.st_blocks * 512);
    assert_true(allocated >= 5 * 4096);

    uint8_t *back = malloc(len);
    assert_non_null(back);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, back, len, 0), (ssize_t)len);
    close(fd);
    assert_memory_equal(back, ram, len);
    free(back);
    free(ram);
}

static void write_snapshot_files(const sm_snap_dir_tx *tx)
{
    char p[PATH_MAX];
    uint8_t ram[8192] = {[100] = 1};
    sm_snap_meta m = sample_meta();
    assert_int_equal(sm_snap_dir_file(tx, SM_SNAP_MEMORY_FILE, p, sizeof p), 0);
    assert_int_equal(sm_snap_memory_write(p, ram, sizeof ram, NULL), 0);
    assert_int_equal(sm_snap_dir_file(tx, SM_SNAP_META_FILE, p, sizeof p), 0);
    assert_int_equal(sm_snap_meta_write(p, &m), 0);
    sm_snap_writer *w;
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    assert_int_equal(sm_snap_dir_file(tx, SM_SNAP_STATE_FILE, p, sizeof p), 0);
    assert_int_equal(sm_snap_writer_finish_file(w, p), 0);
}

static void atomic_directory(void **state)
{
    char final[PATH_MAX];
    path_in(final, *state, "snap");
    sm_snap_dir_tx tx, tx2;

    /* Interrupted: everything written but never committed (a kill -9). */
    assert_int_equal(sm_snap_dir_begin(final, &tx), 0);
    write_snapshot_files(&tx);
    assert_int_equal(access(final, F_OK), -1);
    assert_int_equal(sm_snap_dir_check(final), -ENOENT);
    assert_int_equal(sm_snap_dir_check(tx.tmp), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "unfinished"));
    const char *base = strrchr(tx.tmp, '/') + 1;
    assert_true(sm_snap_dir_is_temp_name(base));
    assert_false(sm_snap_dir_is_temp_name("snap"));

    /* A second, complete attempt next to the leftover commits. */
    assert_int_equal(sm_snap_dir_begin(final, &tx2), 0);
    assert_string_not_equal(tx.tmp, tx2.tmp);
    write_snapshot_files(&tx2);
    assert_int_equal(sm_snap_dir_commit(&tx2), 0);
    assert_int_equal(sm_snap_dir_check(final), 0);

    /* The leftover losing the race is refused and cleaned up, the winner kept. */
    assert_int_equal(sm_snap_dir_commit(&tx), -EEXIST);
    assert_int_equal(access(tx.tmp, F_OK), -1);
    assert_int_equal(sm_snap_dir_check(final), 0);

    /* A directory missing a file is not a snapshot. */
    char p[PATH_MAX];
    path_in(p, final, SM_SNAP_STATE_FILE);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(sm_snap_dir_check(final), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "state is missing"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(writer_refuses_duplicates_and_bad_flags),
        cmocka_unit_test(truncated_at_every_length_refused),
        cmocka_unit_test(every_bit_flip_refused),
        cmocka_unit_test(wrong_version_refused),
        cmocka_unit_test(sealed_but_malformed_refused),
        cmocka_unit_test(unknown_sections),
        cmocka_unit_test_setup_teardown(state_file_on_disk, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(metadata_round_trip, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(metadata_refused, scratch_setup, scratch_teardown),
        cmocka_unit_test_setup_teardown(sparse_memory_keeps_holes, scratch_setup,
                                        scratch_teardown),
        cmocka_unit_test_setup_teardown(atomic_directory, scratch_setup, scratch_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
