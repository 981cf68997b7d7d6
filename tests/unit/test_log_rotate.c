/*
 * A log kept under its budget (util/log_rotate.h): written past the cap,
 * FILE and FILE.1 together stay within it, the newest lines survive, and
 * the descriptor its writer holds goes on writing into the new FILE with
 * the flags it had. What is not a file is left alone; a file that cannot
 * be renamed is emptied instead.
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

#include "util/log_rotate.h"

#define CAP (64u << 10)

typedef struct fx {
    char dir[64], path[96], old[96];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-logrot-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/console.log", f->dir);
    snprintf(f->old, sizeof f->old, "%s/console.log.1", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    unlink(f->path);
    unlink(f->old);
    rmdir(f->dir);
    free(f);
    return 0;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, CAP + 1);
    if (f) {
        size_t n = fread(s, 1, CAP, f);
        s[n] = '\0';
        fclose(f);
    }
    return s;
}

/* Lines "line NNNNNN" padded to 100 bytes, as a guest would print them. */
static void write_lines(int fd, int from, int to)
{
    char line[101];
    for (int i = from; i < to; i++) {
        snprintf(line, sizeof line, "line %06d %87s\n", i, "x");
        assert_int_equal(sm_log_make_room(fd, 100, CAP), 0);
        assert_int_equal(write(fd, line, 100), 100);
    }
}

static int first_line(const char *text)
{
    return atoi(text + 5);
}

static void past_the_cap_the_newest_half_stays(void **state)
{
    fx *f = *state;
    int fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    write_lines(fd, 0, 5000);   /* 500 KB into a 64 KiB budget */
    assert_true(size_of(f->path) + size_of(f->old) <= CAP);
    assert_true(size_of(f->path) <= CAP / 2 && size_of(f->old) <= CAP / 2);
    char *old = slurp(f->old), *cur = slurp(f->path);
    size_t nold = strlen(old), ncur = strlen(cur);
    /* FILE.1 runs straight into FILE, which ends with the last line. */
    assert_int_equal(first_line(old) + (int)(nold / 100), first_line(cur));
    assert_int_equal(first_line(cur) + (int)(ncur / 100), 5000);
    assert_true(nold + ncur >= CAP / 2);
    /* The new FILE was made as the first: mode, append, close-on-exec. */
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_true(fcntl(fd, F_GETFL) & O_APPEND);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    free(old);
    free(cur);
    close(fd);
}

/* A terminal or a pipe has no size to keep. */
static void a_pipe_is_left_alone(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(sm_log_make_room(p[1], 1u << 30, CAP), 0);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    close(p[1]);
}

/* Removed under its writer (no name to rename), it is emptied in place. */
static void a_file_without_a_name_is_emptied(void **state)
{
    fx *f = *state;
    int fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    unlink(f->path);
    write_lines(fd, 0, 1000);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(st.st_size <= CAP / 2);
    assert_int_equal(access(f->old, F_OK), -1);
    close(fd);
}

static void the_budget_comes_from_the_environment(void **state)
{
    (void)state;
    unsetenv(SM_LOG_MAX_ENV);
    assert_int_equal(sm_log_max_bytes(), SM_LOG_MAX_DEFAULT);
    setenv(SM_LOG_MAX_ENV, "1m", 1);
    assert_int_equal(sm_log_max_bytes(), 1u << 20);
    setenv(SM_LOG_MAX_ENV, "2GiB", 1);
    assert_int_equal(sm_log_max_bytes(), 2ull << 30);
    setenv(SM_LOG_MAX_ENV, "1k", 1);
    assert_int_equal(sm_log_max_bytes(), SM_LOG_MAX_MIN);
    setenv(SM_LOG_MAX_ENV, "lots", 1);
    assert_int_equal(sm_log_max_bytes(), SM_LOG_MAX_DEFAULT);
    unsetenv(SM_LOG_MAX_ENV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(past_the_cap_the_newest_half_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(a_pipe_is_left_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_without_a_name_is_emptied, setup, teardown),
        cmocka_unit_test_setup_teardown(the_budget_comes_from_the_environment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
