/*
 * The console's way to its log file (vmm/console_pump.h): a guest that
 * prints past the budget leaves console.log and console.log.1 within it,
 * the newest lines whole and in order, nothing of the newest half lost.
 */
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

#include "vmm/console_pump.h"

#define CAP (64u << 10)

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* FILE.1 then FILE: a rotation may cut a line, not lose or reorder any;
 * the first line (maybe the end of one cut before) is skipped. Returns
 * the last line's number. */
static int check_run(const char *old, const char *path)
{
    char *text = calloc(1, CAP + 1);
    size_t len = 0;
    const char *files[] = {old, path};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "r");
        assert_non_null(f);
        len += fread(text + len, 1, CAP - len, f);
        fclose(f);
    }
    char *p = strchr(text, '\n') + 1;
    int prev = -1;
    for (char *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        int n = atoi(p);
        if (prev >= 0)
            assert_int_equal(n, prev + 1);
        prev = n;
    }
    assert_int_equal(*p, '\0');
    free(text);
    return prev;
}

static void a_guest_printing_forever_stays_in_budget(void **state)
{
    (void)state;
    char dir[] = "/tmp/sm-console-XXXXXX", path[64], old[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/console.log", dir);
    snprintf(old, sizeof old, "%s/console.log.1", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    sm_console_pump *p;
    assert_int_equal(sm_console_pump_start(fd, CAP, &p), 0);
    char line[64];
    const int lines = 40000;              /* about 1.5 MB, byte by byte as a UART */
    for (int i = 0; i < lines; i++) {
        int n = snprintf(line, sizeof line, "%d console line\n", i);
        for (int j = 0; j < n; j++)
            sm_console_pump_write(p, (const uint8_t *)line + j, 1);
    }
    sm_console_pump_stop(p);
    assert_true(size_of(path) + size_of(old) <= CAP);
    assert_int_equal(check_run(old, path), lines - 1);
    assert_true(size_of(path) + size_of(old) >= CAP / 2);
    close(fd);
    unlink(path);
    unlink(old);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_guest_printing_forever_stays_in_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
