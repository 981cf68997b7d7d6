/* The public structs' size rule (lib/abi.h), on structs shaped as a
 * library and two generations of callers would see one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lib/abi.h"
#include "util/error.h"

typedef struct older { size_t size; int a; } older;
typedef struct ours { size_t size; int a; uint64_t b; } ours;
typedef struct newer { size_t size; int a; uint64_t b; uint64_t c; } newer;

static void older_caller_gets_defaults(void **s)
{
    (void)s;
    older in = {.size = sizeof in, .a = 7};
    ours got;
    memset(&got, 0xa5, sizeof got);
    assert_int_equal(SM_ABI_IN(&got, &in, ours), 0);
    assert_int_equal(got.a, 7);
    assert_int_equal(got.b, 0);
}

static void newer_caller_with_zero_tail_is_taken(void **s)
{
    (void)s;
    newer in = {.size = sizeof in, .a = 1, .b = 2};
    ours got;
    assert_int_equal(SM_ABI_IN(&got, &in, ours), 0);
    assert_int_equal(got.a, 1);
    assert_int_equal(got.b, 2);
}

static void newer_caller_with_unknown_option_is_refused(void **s)
{
    (void)s;
    newer in = {.size = sizeof in, .a = 1, .c = 3};
    ours got;
    assert_int_equal(SM_ABI_IN(&got, &in, ours), -E2BIG);
    assert_non_null(strstr(sm_error_text(), "ours has fields this library does not know"));
}

static void size_zero_names_the_init_macro(void **s)
{
    (void)s;
    ours in = {.a = 1};
    ours got;
    assert_int_equal(sm_abi_copy_in(&got, sizeof got, &in, "sm_exec"), -EINVAL);
    assert_non_null(strstr(sm_error_text(), "sm_exec.size is 0"));
    assert_non_null(strstr(sm_error_text(), "SM_EXEC_INIT"));
}

static void output_fills_what_the_caller_has(void **s)
{
    (void)s;
    ours full = {.size = sizeof full, .a = 5, .b = 6};
    older small = {.size = sizeof small};
    assert_int_equal(SM_ABI_OUT(&small, &full, ours), 0);
    assert_int_equal(small.size, sizeof small);
    assert_int_equal(small.a, 5);

    /* A newer caller's own field is left alone. */
    newer big = {.size = sizeof big, .c = 9};
    assert_int_equal(SM_ABI_OUT(&big, &full, ours), 0);
    assert_int_equal(big.size, sizeof big);
    assert_int_equal(big.a, 5);
    assert_int_equal(big.b, 6);
    assert_int_equal(big.c, 9);

    ours unset = {.size = 0};
    assert_int_equal(SM_ABI_OUT(&unset, &full, ours), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(older_caller_gets_defaults),
        cmocka_unit_test(newer_caller_with_zero_tail_is_taken),
        cmocka_unit_test(newer_caller_with_unknown_option_is_refused),
        cmocka_unit_test(size_zero_names_the_init_macro),
        cmocka_unit_test(output_fills_what_the_caller_has),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
