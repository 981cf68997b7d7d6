#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/boot_channel.h"
#include "lib/boot_payload.h"
#include "util/cpio.h"

/* Read the archive at buf (as the kernel would, one of the concatenated
 * ones) and return the contents of `path`, or NULL. */
static char *extract(const uint8_t *buf, size_t len, const char *path, size_t *out_len)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_cpio(a);
    assert_int_equal(archive_read_open_memory(a, buf, len), ARCHIVE_OK);
    struct archive_entry *e;
    char *data = NULL;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        if (strcmp(archive_entry_pathname(e), path) != 0)
            continue;
        *out_len = (size_t)archive_entry_size(e);
        data = malloc(*out_len + 1);
        assert_int_equal(archive_read_data(a, data, *out_len), (la_ssize_t)*out_len);
        break;
    }
    archive_read_free(a);
    return data;
}

static void appends_argv_after_the_base(void **state)
{
    (void)state;
    sm_cpio *c;
    uint8_t *base;
    size_t base_len;
    assert_int_equal(sm_cpio_new(&c), 0);
    assert_int_equal(sm_cpio_add_file(c, "init", 0755, "x", 1), 0);
    assert_int_equal(sm_cpio_finish(c, &base, &base_len), 0);

    const char *argv[] = {"sh", "-c", "echo 'a b'\n\"q\"", "", NULL};
    uint8_t *out;
    size_t len;
    /* An odd base length forces padding before the second archive. */
    assert_int_equal(sm_boot_payload_build(base, base_len - 1, argv, &out, &len), 0);
    size_t second = (base_len - 1 + 3) & ~(size_t)3;
    assert_true(len > second);
    size_t n = 0;
    char *args = extract(out + second, len - second, &SM_BOOT_ARGV_PATH[1], &n);
    assert_non_null(args);
    const char expect[] = "sh\0-c\0echo 'a b'\n\"q\"\0";
    assert_int_equal(n, sizeof expect);  /* includes the empty last arg's NUL */
    assert_memory_equal(args, expect, sizeof expect);
    free(args);
    free(out);
    free(base);
}

static void no_command_means_base_only(void **state)
{
    (void)state;
    const uint8_t base[8] = "abcdefgh";
    uint8_t *out;
    size_t len;
    assert_int_equal(sm_boot_payload_build(base, 8, NULL, &out, &len), 0);
    assert_int_equal(len, 8);
    assert_memory_equal(out, base, 8);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_argv_after_the_base),
        cmocka_unit_test(no_command_means_base_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
