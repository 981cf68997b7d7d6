/*
 * A detached VM's process log under its budget (SUPERMACHINE_MAX_LOG_SIZE,
 * here 64k): written past it, process.log and process.log.1 together stay
 * within it, and `logs` (sm_vm_log_copy) still reads right across the
 * rotation: the newest lines, in order, none twice; --tail across both
 * files; --follow through rotations while the VM runs.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/vm_log.h"
#include "util/log_rotate.h"

#define CAP (64u << 10)
#define OUT_MAX (1u << 20)

typedef struct fx {
    char dir[64], log[96], old[96], out[96];
    int fd;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-vmlog-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->log, sizeof f->log, "%s/" SM_VM_LOG_NAME, f->dir);
    snprintf(f->old, sizeof f->old, "%s/" SM_VM_LOG_NAME SM_LOG_OLD_SUFFIX, f->dir);
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    f->fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    setenv(SM_LOG_MAX_ENV, "64k", 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    close(f->fd);
    const char *names[] = {f->log, f->old, f->out};
    for (int i = 0; i < 3; i++)
        unlink(names[i]);
    char lock[96];
    snprintf(lock, sizeof lock, "%s/lock", f->dir);
    unlink(lock);
    rmdir(f->dir);
    unsetenv(SM_LOG_MAX_ENV);
    free(f);
    return 0;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Line i: "NNNNNN" and padding, 80 bytes, one record each. */
static void append_lines(fx *f, int from, int to)
{
    char line[81];
    for (int i = from; i < to; i++) {
        snprintf(line, sizeof line, "%06d %72s\n", i, "y");
        assert_int_equal(sm_vm_log_append(f->fd, 1, line, 80), 0);
    }
}

/* `logs` as v selects, stdout and stderr into one file; its text. */
static char *logs(fx *f, const sm_log_view *v)
{
    int out = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_int_equal(sm_vm_log_copy(f->dir, v, out, out), 0);
    close(out);
    char *text = calloc(1, OUT_MAX + 1);
    int in = open(f->out, O_RDONLY);
    ssize_t n = read(in, text, OUT_MAX);
    close(in);
    assert_true(n >= 0);
    return text;
}

/* Lines numbered consecutively from the first to *last; their count. */
static int consecutive(const char *text, int *first, int *last)
{
    int count = 0, prev = -1;
    for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
        int n = atoi(p);
        if (count)
            assert_int_equal(n, prev + 1);
        else
            *first = n;
        prev = n;
        count++;
    }
    *last = prev;
    return count;
}

static void past_the_budget_logs_reads_the_newest(void **state)
{
    fx *f = *state;
    append_lines(f, 0, 5000);   /* 400 KB of records into 64 KiB */
    assert_true(size_of(f->log) + size_of(f->old) <= CAP);
    assert_true(size_of(f->old) > 0);
    sm_log_view all = {.tail = -1};
    char *text = logs(f, &all);
    int first, last;
    int n = consecutive(text, &first, &last);
    assert_int_equal(last, 4999);
    assert_true(n * 80 >= (int)CAP / 2 - 2 * 93);   /* at least the newest half */
    assert_true(first > 0);
    free(text);
}

static void tail_reaches_into_the_older_file(void **state)
{
    fx *f = *state;
    append_lines(f, 0, 2000);
    off_t cur = size_of(f->log);
    int want = (int)(cur / 93) + 20;   /* 13 bytes of record head each */
    sm_log_view v = {.tail = want};
    char *text = logs(f, &v);
    int first, last;
    assert_int_equal(consecutive(text, &first, &last), want);
    assert_int_equal(last, 1999);
    free(text);
}

/* One write larger than the budget is cut into records that each fit a
 * quarter of it: the bound holds and the end of the output survives. */
static void one_huge_write_is_cut(void **state)
{
    fx *f = *state;
    size_t len = 300000;
    char *big = malloc(len);
    for (size_t i = 0; i < len; i++)
        big[i] = (char)('a' + i % 26);
    assert_int_equal(sm_vm_log_append(f->fd, 2, big, len), 0);
    assert_true(size_of(f->log) + size_of(f->old) <= CAP);
    sm_log_view all = {.tail = -1};
    char *text = logs(f, &all);
    size_t got = strlen(text);
    assert_true(got >= CAP / 4);
    assert_memory_equal(text, big + len - got, got);
    free(text);
    free(big);
}

typedef struct writer {
    fx *f;
    int lock_fd;
} writer;

/* The VM: writes slowly enough for a follower polling every 100 ms to see
 * every file before the next rotation drops it, then ends. */
static void *run_vm(void *arg)
{
    writer *w = arg;
    for (int i = 0; i < 120; i++) {
        append_lines(w->f, i, i + 1);
        usleep(15 * 1000);
    }
    close(w->lock_fd);   /* the VM is gone */
    return NULL;
}

static void follow_goes_on_across_rotations(void **state)
{
    fx *f = *state;
    setenv(SM_LOG_MAX_ENV, "16k", 1);   /* raised to 64k: 409 lines a file */
    char lock[96];
    snprintf(lock, sizeof lock, "%s/lock", f->dir);
    writer w = {.f = f, .lock_fd = open(lock, O_RDWR | O_CREAT, 0600)};
    assert_int_equal(flock(w.lock_fd, LOCK_EX), 0);
    /* Enough before the follower starts that it begins with two files. */
    append_lines(f, -700, 0);
    assert_true(size_of(f->old) > 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_vm, &w), 0);
    sm_log_view v = {.follow = 1, .tail = -1};
    char *text = logs(f, &v);
    pthread_join(t, NULL);
    int first, last;
    consecutive(text, &first, &last);
    assert_int_equal(last, 119);
    assert_true(first < 0);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(past_the_budget_logs_reads_the_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(tail_reaches_into_the_older_file, setup, teardown),
        cmocka_unit_test_setup_teardown(one_huge_write_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(follow_goes_on_across_rotations, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
