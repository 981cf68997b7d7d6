/*
 * A VM pool of real VMs (the built-in initramfs; min 1, max 2), through
 * four boots in all: it fills to one idle VM, hands it out at once,
 * refills; at max a third acquire times out; a released VM is stopped and
 * the next one is fresh (no file or process of the previous user); two
 * threads acquire and release at once; freeing the pool with VMs still
 * acquired leaves no worker behind. The steps run in order on one pool.
 * Timings go to stdout.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})
#define ACQUIRE_TIMEOUT_MS 2000
#define BOOT_WAIT_MS 400000   /* generous: boots are emulated here */

typedef struct fixture {
    sm_pool *pool;
    sm_vm *first, *second;    /* acquired in turn */
    pid_t first_worker;       /* the first VM's worker process */
    sm_vm *fresh[2];          /* the two threads' VMs, kept to the end */
    unsigned thread_timeouts;
} fixture;

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* Our children running supermachine-worker (--spec-fd N): all, or the
 * one whose pid is `only`. */
static int workers(pid_t only)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[300], buf[8192];
        int ppid = 0;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int got = fscanf(f, "%*d (%*[^)]) %*c %d", &ppid);
        fclose(f);
        if (got != 1 || ppid != getpid() || (only && atoi(e->d_name) != only))
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        for (ssize_t i = 0; i < len; i++)
            buf[i] = buf[i] ? buf[i] : ' ';
        buf[len > 0 ? len : 0] = '\0';
        n += strstr(buf, "--spec-fd") != NULL;
    }
    if (d)
        closedir(d);
    return n;
}

/* The pid the VM's worker wrote into its directory. */
static pid_t worker_pid(const char *dir)
{
    char path[4200];
    int pid = 0;
    snprintf(path, sizeof path, "%s/worker.pid", dir);
    FILE *f = fopen(path, "r");
    if (f && fscanf(f, "%d", &pid) != 1)
        pid = 0;
    if (f)
        fclose(f);
    return pid;
}

static sm_pool_stats stats_of(sm_pool *p)
{
    sm_pool_stats s = {.size = sizeof s};
    assert_int_equal(sm_pool_get_stats(p, &s), 0);
    return s;
}

/* Poll until a VM is idle; how long it took. */
static uint64_t wait_idle(sm_pool *p)
{
    uint64_t t0 = now_ms();
    while (stats_of(p).idle == 0 && now_ms() - t0 < BOOT_WAIT_MS) {
        sm_pool_stats s = stats_of(p);
        if (s.failed_starts)
            fail_msg("a VM failed to start: %u starting, %llu failed", s.starting,
                     (unsigned long long)s.failed_starts);
        sleep_ms(50);
    }
    assert_int_equal(stats_of(p).idle, 1);
    return now_ms() - t0;
}

static sm_exec_result run(sm_vm *vm, const char *const *argv)
{
    sm_exec_result r = {.size = sizeof r};
    if (sm_vm_exec(vm, &(sm_exec){.size = sizeof(sm_exec), .argv = argv}, &r) != 0)
        fail_msg("exec %s: %s", argv[0], sm_last_error());
    return r;
}

static void expect_output(sm_vm *vm, const char *const *argv, const char *out)
{
    sm_exec_result r = run(vm, argv);
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, out);
    sm_exec_result_free(&r);
}

static int setup(void **state)
{
    static fixture f;
    sm_vm_config vm = {.size = sizeof vm, .start_timeout_ms = BOOT_WAIT_MS};
    sm_pool_config c = {.size = sizeof c, .min = 1, .max = 2,
                        .acquire_timeout_ms = ACQUIRE_TIMEOUT_MS, .vm = &vm};
    if (sm_pool_new(NULL, &c, &f.pool) != 0) {
        fprintf(stderr, "sm_pool_new: %s\n", sm_last_error());
        return -1;
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->pool)   /* a step failed before the last one freed it */
        sm_pool_free(f->pool);
    return 0;
}

static void fills_to_min(void **state)
{
    fixture *f = *state;
    uint64_t ms = wait_idle(f->pool);
    printf("pool: filled to 1 idle VM in %llu ms (a boot)\n", (unsigned long long)ms);
    sm_pool_stats s = stats_of(f->pool);
    assert_int_equal(s.started, 1);
    assert_int_equal(s.acquired + s.starting, 0);
    assert_int_equal(workers(0), 1);
}

static void acquire_is_immediate_and_the_vm_runs_commands(void **state)
{
    fixture *f = *state;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(sm_pool_acquire(f->pool, &f->first), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long us = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
    printf("pool: acquire from an idle pool took %ld us\n", us);
    assert_true(us < 1000000);
    f->first_worker = worker_pid(sm_vm_dir(f->first));
    assert_true(f->first_worker > 0);
    expect_output(f->first, ARGV("echo", "hello", "pool"), "hello pool\n");
    /* What the next user must not see: a file and a running process. */
    assert_int_equal(sm_vm_write_file(f->first, "/tmp/left-behind", "secret", 6, 0600, 0), 0);
    expect_output(f->first, ARGV("sh", "-c", "setsid sleep 999 </dev/null >/dev/null 2>&1 & "
                                 "echo started"), "started\n");
    expect_output(f->first, ARGV("sh", "-c", "ps | grep -c '[s]leep 999'"), "1\n");
}

static void refills_in_the_background(void **state)
{
    fixture *f = *state;
    uint64_t ms = wait_idle(f->pool);
    printf("pool: refilled to 1 idle VM %llu ms after the acquire\n", (unsigned long long)ms);
    sm_pool_stats s = stats_of(f->pool);
    assert_int_equal(s.started, 2);
    assert_int_equal(s.acquired, 1);
}

static void at_max_acquire_times_out(void **state)
{
    fixture *f = *state;
    assert_int_equal(sm_pool_acquire(f->pool, &f->second), 0);
    assert_true(f->second != f->first);
    sm_pool_stats s = stats_of(f->pool);
    assert_int_equal(s.idle + s.starting, 0);   /* max: no third VM */
    assert_int_equal(s.acquired, 2);
    sm_vm *third = NULL;
    uint64_t t0 = now_ms();
    assert_int_equal(sm_pool_acquire(f->pool, &third), -ETIMEDOUT);
    uint64_t ms = now_ms() - t0;
    printf("pool: acquire at max failed after %llu ms (timeout %d ms): %s\n",
           (unsigned long long)ms, ACQUIRE_TIMEOUT_MS, sm_last_error());
    assert_true(ms >= ACQUIRE_TIMEOUT_MS - 10 && ms < ACQUIRE_TIMEOUT_MS + 3000);
    assert_null(third);
    assert_int_equal(stats_of(f->pool).timeouts, 1);
}

static void released_vm_is_stopped_and_replaced(void **state)
{
    fixture *f = *state;
    assert_int_equal(sm_pool_release(f->pool, f->first), 0);
    assert_int_equal(sm_pool_release(f->pool, f->first), -EINVAL);
    uint64_t t0 = now_ms();
    while (workers(f->first_worker) && now_ms() - t0 < 10000)
        sleep_ms(20);
    printf("pool: a released VM's worker was gone %llu ms after the release\n",
           (unsigned long long)(now_ms() - t0));
    assert_int_equal(workers(f->first_worker), 0);
    sm_pool_stats s = stats_of(f->pool);
    assert_int_equal(s.discarded, 1);
    assert_int_equal(s.starting + s.idle, 1);   /* its replacement */
    assert_int_equal(s.acquired, 1);
}

typedef struct racer {
    fixture *f;
    sm_vm *release_first;     /* released by this thread before it acquires */
    sm_vm *got;
    unsigned timeouts;
    int err;
    char why[1024];
} racer;

/* Acquire, retrying while the pool times out (boots take long here). */
static void *race(void *arg)
{
    racer *r = arg;
    if (r->release_first && (r->err = sm_pool_release(r->f->pool, r->release_first)) != 0) {
        snprintf(r->why, sizeof r->why, "release: %s", sm_last_error());
        return NULL;
    }
    uint64_t t0 = now_ms();
    while ((r->err = sm_pool_acquire(r->f->pool, &r->got)) == -ETIMEDOUT &&
           now_ms() - t0 < BOOT_WAIT_MS)
        r->timeouts++;
    if (r->err)
        snprintf(r->why, sizeof r->why, "acquire: %s", sm_last_error());
    return NULL;
}

/* A VM after others were released: none of their files or processes. */
static void expect_fresh(sm_vm *vm)
{
    sm_exec_result r = run(vm, ARGV("cat", "/tmp/left-behind"));
    assert_int_not_equal(r.exit_status, 0);
    sm_exec_result_free(&r);
    expect_output(vm, ARGV("sh", "-c", "ps | grep -c '[s]leep 999' || true"), "0\n");
    expect_output(vm, ARGV("echo", "fresh"), "fresh\n");
}

static void two_threads_acquire_and_release_at_once(void **state)
{
    fixture *f = *state;
    racer r[2] = {{.f = f, .release_first = f->second}, {.f = f}};
    pthread_t t[2];
    uint64_t t0 = now_ms();
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("pool: two threads got fresh VMs in %llu ms (two boots at once)\n",
           (unsigned long long)(now_ms() - t0));
    for (int i = 0; i < 2; i++)
        if (r[i].err)
            fail_msg("thread %d: %s", i, r[i].why);
    f->fresh[0] = r[0].got, f->fresh[1] = r[1].got;
    assert_true(f->fresh[0] != f->fresh[1]);
    expect_fresh(f->fresh[0]);
    expect_fresh(f->fresh[1]);
    f->thread_timeouts = r[0].timeouts + r[1].timeouts;
    sm_pool_stats s = stats_of(f->pool);
    assert_int_equal(s.started, 4);
    assert_int_equal(s.acquisitions, 4);
    assert_int_equal(s.discarded, 2);
    assert_int_equal(s.acquired, 2);
    assert_int_equal(s.idle + s.starting, 0);
    assert_int_equal(s.failed_starts, 0);
    assert_int_equal(s.timeouts, 1 + f->thread_timeouts);
}

static void free_with_acquired_vms_leaves_no_worker(void **state)
{
    fixture *f = *state;
    assert_int_equal(workers(0), 2);
    uint64_t t0 = now_ms();
    sm_pool_free(f->pool);
    f->pool = NULL;
    printf("pool: sm_pool_free with 2 acquired VMs took %llu ms\n",
           (unsigned long long)(now_ms() - t0));
    assert_int_equal(workers(0), 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fills_to_min),
        cmocka_unit_test(acquire_is_immediate_and_the_vm_runs_commands),
        cmocka_unit_test(refills_in_the_background),
        cmocka_unit_test(at_max_acquire_times_out),
        cmocka_unit_test(released_vm_is_stopped_and_replaced),
        cmocka_unit_test(two_threads_acquire_and_release_at_once),
        cmocka_unit_test(free_with_acquired_vms_leaves_no_worker),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
