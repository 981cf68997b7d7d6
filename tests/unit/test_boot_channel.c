#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/boot_channel.h"

/* Feed a string; return the last event and its value. */
static sm_boot_event feed(sm_boot_channel *c, const char *s, int *value)
{
    sm_boot_event last = SM_BOOT_EVENT_NONE;
    for (; *s; s++) {
        int v = -1;
        sm_boot_event ev = sm_boot_channel_feed(c, (uint8_t)*s, &v);
        if (ev != SM_BOOT_EVENT_NONE) {
            last = ev;
            *value = v;
        }
    }
    return last;
}

static void parses_valid_lines(void **state)
{
    (void)state;
    sm_boot_channel c = {0};
    int v = -1;
    assert_int_equal(feed(&c, "SM1 start\n", &v), SM_BOOT_EVENT_START);
    assert_int_equal(feed(&c, "SM1 ready\n", &v), SM_BOOT_EVENT_READY);
    assert_int_equal(v, 0);
    assert_int_equal(feed(&c, "SM1 exit 7\r\n", &v), SM_BOOT_EVENT_EXIT);
    assert_int_equal(v, 7);
    assert_int_equal(feed(&c, "SM1 exit 0\n", &v), SM_BOOT_EVENT_EXIT);
    assert_int_equal(v, 0);
    assert_int_equal(feed(&c, "SM1 signal 15\n", &v), SM_BOOT_EVENT_SIGNAL);
    assert_int_equal(v, 15);
}

static void round_trips_the_formatter(void **state)
{
    (void)state;
    char line[SM_BOOT_CHANNEL_LINE_MAX];
    sm_boot_channel c = {0};
    int v = -1;
    sm_boot_channel_format(line, sizeof line, SM_BOOT_EVENT_EXIT, 255);
    assert_int_equal(feed(&c, line, &v), SM_BOOT_EVENT_EXIT);
    assert_int_equal(v, 255);
    sm_boot_channel_format(line, sizeof line, SM_BOOT_EVENT_SIGNAL, 9);
    assert_int_equal(feed(&c, line, &v), SM_BOOT_EVENT_SIGNAL);
    assert_int_equal(v, 9);
    assert_int_equal(sm_boot_channel_format(line, sizeof line, SM_BOOT_EVENT_READY, 0), 10);
    assert_string_equal(line, "SM1 ready\n");
    assert_int_equal(feed(&c, line, &v), SM_BOOT_EVENT_READY);
}

static void ignores_garbage(void **state)
{
    (void)state;
    sm_boot_channel c = {0};
    int v = -1;
    const char *bad[] = {
        "SM1 exit\n", "SM1 exit -1\n", "SM1 exit 256\n", "SM1 exit 99999999999999\n",
        "SM1 exit 7x\n", "SM1 signal 0\n", "SM1 signal 65\n", "SM2 exit 1\n",
        "sm1 exit 1\n", "SM1  exit 1\n", "SM1 exit 1 \n", "\n", "SM1 start now\n",
        "SM1 ready 1\n", "SM1 readyy\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(feed(&c, bad[i], &v), SM_BOOT_EVENT_NONE);
    /* Still in sync afterwards. */
    assert_int_equal(feed(&c, "SM1 exit 3\n", &v), SM_BOOT_EVENT_EXIT);
    assert_int_equal(v, 3);
}

static void drops_overlong_lines(void **state)
{
    (void)state;
    sm_boot_channel c = {0};
    int v = -1;
    char line[4096];
    memset(line, 'A', sizeof line);
    memcpy(line + sizeof line - 12, "SM1 exit 1\n", 12);  /* valid tail, same line */
    assert_int_equal(feed(&c, line, &v), SM_BOOT_EVENT_NONE);
    assert_int_equal(feed(&c, "SM1 exit 4\n", &v), SM_BOOT_EVENT_EXIT);
    assert_int_equal(v, 4);
}

static void survives_nul_bytes(void **state)
{
    (void)state;
    sm_boot_channel c = {0};
    int v = -1;
    const uint8_t bytes[] = {'S', 'M', '1', 0, 'x', '\n'};
    for (size_t i = 0; i < sizeof bytes; i++)
        assert_int_equal(sm_boot_channel_feed(&c, bytes[i], &v), SM_BOOT_EVENT_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_valid_lines),
        cmocka_unit_test(round_trips_the_formatter),
        cmocka_unit_test(ignores_garbage),
        cmocka_unit_test(drops_overlong_lines),
        cmocka_unit_test(survives_nul_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
