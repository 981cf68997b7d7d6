#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/file.h"

static void check(const char *path, const char *want)
{
    char out[64];
    sm_path_dir(path, out, sizeof out);
    assert_string_equal(out, want);
}

static void parents(void **state)
{
    (void)state;
    check("/home/u/.local/share/supermachine/rootfs/x.img",
          "/home/u/.local/share/supermachine/rootfs");
    check("rel/dir/file", "rel/dir");
    check("file", ".");
    check("/file", "/");
    check("/", "/");
    check("dir/sub/", "dir");
}

/* The root filesystem build once passed its buffer as both source and
 * result (dirname into itself) and got "", spooling into the working
 * directory or /. The helper's result never aliases its input. */
static void output_independent_of_input(void **state)
{
    (void)state;
    char path[64] = "/data/rootfs/image.ext4";
    char out[64];
    sm_path_dir(path, out, sizeof out);
    assert_string_equal(out, "/data/rootfs");
    assert_string_equal(path, "/data/rootfs/image.ext4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parents),
        cmocka_unit_test(output_independent_of_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
