#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/console_tail.h"

static void add_str(sm_console_tail *t, const char *s)
{
    sm_console_tail_add(t, (const uint8_t *)s, strlen(s));
}

static void keeps_the_last_lines(void **state)
{
    (void)state;
    static sm_console_tail t;
    memset(&t, 0, sizeof t);
    add_str(&t, "one\r\ntwo\nthree\nfour\n");
    char out[256];
    sm_console_tail_lines(&t, 2, out, sizeof out);
    assert_string_equal(out, "three\nfour");
    sm_console_tail_lines(&t, 10, out, sizeof out);
    assert_string_equal(out, "one\ntwo\nthree\nfour");
}

static void wraps_and_still_finds_text(void **state)
{
    (void)state;
    static sm_console_tail t;
    memset(&t, 0, sizeof t);
    char line[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(line, sizeof line, "line %d\n", i);
        add_str(&t, line);
    }
    add_str(&t, "Kernel panic - not syncing: test\n");
    assert_true(t.wrapped);
    assert_true(sm_console_tail_contains(&t, "Kernel panic"));
    assert_false(sm_console_tail_contains(&t, "line 5\n"));
    char out[256];
    sm_console_tail_lines(&t, 2, out, sizeof out);
    assert_string_equal(out, "line 1999\nKernel panic - not syncing: test");
}

static void sanitizes_guest_bytes(void **state)
{
    (void)state;
    static sm_console_tail t;
    memset(&t, 0, sizeof t);
    const uint8_t junk[] = {'a', 0x1b, '[', '3', '1', 'm', 0, 0xff, 'b', '\n'};
    sm_console_tail_add(&t, junk, sizeof junk);
    add_str(&t, "Kernel panic");
    char out[64];
    sm_console_tail_lines(&t, 5, out, sizeof out);
    assert_string_equal(out, "a?[31m??b\nKernel panic");
    assert_true(sm_console_tail_contains(&t, "Kernel panic")); /* after a NUL */
    sm_console_tail_lines(&t, 5, out, 4);
    assert_string_equal(out, "a?[");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keeps_the_last_lines),
        cmocka_unit_test(wraps_and_still_finds_text),
        cmocka_unit_test(sanitizes_guest_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
