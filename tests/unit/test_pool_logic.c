/*
 * The VM pool without VMs: its configuration checks, and its whole logic
 * (filling to min, max, timeouts, discarding, expiry, start failures and
 * their backoff, many threads, freeing) against fake workers. A fake
 * worker is a shell script standing where supermachine-worker would: it
 * says "ready" on fd 3 as a VM's worker does, then waits for its lifeline
 * (fd 4) to close or for SIGTERM; the failing one echoes its launch spec
 * (fd 6). So sm_vm_start and sm_vm_stop run for real, in milliseconds.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

static char root[64];   /* scripts and the VMs' runtime directories */

static const char *const scripts[][2] = {
    {"ok", "printf ready >&3\nexec 3>&-\nread -r x <&4\n"},
    {"slow", "sleep 0.5\nprintf ready >&3\nexec 3>&-\nread -r x <&4\n"},
    {"fail", "echo \"supermachine worker: fake failure: $* $(cat <&6)\"\nexit 1\n"},
    {"hang", "read -r x <&4\n"},
};

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

static void use_worker(const char *kind)
{
    char path[128];
    snprintf(path, sizeof path, "%s/worker-%s", root, kind);
    setenv("SUPERMACHINE_WORKER", path, 1);
}

static int make_scripts(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/sm-pool-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/worker-%s", root, scripts[i][0]);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        fprintf(f, "#!/bin/sh\n%s", scripts[i][1]);
        if (fclose(f) || chmod(path, 0755))
            return -1;
    }
    setenv("XDG_RUNTIME_DIR", root, 1);
    return 0;
}

static int remove_scripts(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* Fake workers alive now: processes whose command line names our root. */
static int workers_alive(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char path[300], buf[4096];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        for (ssize_t i = 0; i < len; i++)
            buf[i] = buf[i] ? buf[i] : ' ';
        buf[len > 0 ? len : 0] = '\0';
        n += strstr(buf, root) && strstr(buf, "--spec-fd");
    }
    if (d)
        closedir(d);
    return n;
}

static sm_pool_stats stats_of(sm_pool *p)
{
    sm_pool_stats s = {.size = sizeof s};
    assert_int_equal(sm_pool_get_stats(p, &s), 0);
    return s;
}

/* Poll until `idle` VMs are idle and none is starting (or 5 s pass). */
static sm_pool_stats wait_settled(sm_pool *p, unsigned idle)
{
    sm_pool_stats s;
    for (int i = 0; i < 500; i++) {
        s = stats_of(p);
        if (s.idle == idle && s.starting == 0)
            break;
        sleep_ms(10);
    }
    return s;
}

static sm_pool *new_pool(sm_pool_config c)
{
    sm_pool *p = NULL;
    c.size = sizeof c;
    int err = sm_pool_new(NULL, &c, &p);
    if (err)
        fail_msg("sm_pool_new: %s", sm_last_error());
    return p;
}

static void expect_refused(const sm_pool_config *c, const char *words)
{
    sm_pool *p = (sm_pool *)1;
    assert_int_equal(sm_pool_new(NULL, c, &p), -EINVAL);
    assert_ptr_equal(p, (sm_pool *)1);
    if (!strstr(sm_last_error(), words))
        fail_msg("'%s' lacks '%s'", sm_last_error(), words);
}

static void refuses_configs_that_cannot_work(void **state)
{
    (void)state;
    assert_int_equal(sm_pool_new(NULL, NULL, NULL), -EINVAL);
    expect_refused(&(sm_pool_config){.size = sizeof(sm_pool_config), .min = 3, .max = 2},
                   "max (2) is below its min (3)");
    expect_refused(&(sm_pool_config){.size = sizeof(sm_pool_config), .min = 1, .max = 100000},
                   "at most 4096");
#define VC .size = sizeof(sm_vm_config)
    const sm_vm_config vms[] = {
        {VC, .detached = 1},
        {VC, .name = "web"},
        {VC, .upper_disk = "/tmp/upper.ext4"},
        {VC, .network = SM_NETWORK_USER, .nports = 1,
         .ports = &(sm_port){.host_port = 8080, .guest_port = 80}},
        {VC, .ndisks = 1, .disks = &(sm_disk){.path = "/tmp/data.img"}},
        {VC, .ndisks = 2, .disks = NULL},
        {VC, .nshares = 9, .shares = (sm_share[9]){{0}}},
    };
#undef VC
    const char *words[] = {"detached", "'web'", "upper_disk", "host ports",
                           "/tmp/data.img is writable", "no disks array", "at most 8"};
    for (size_t i = 0; i < sizeof vms / sizeof vms[0]; i++)
        expect_refused(&(sm_pool_config){.size = sizeof(sm_pool_config), .max = 1, .vm = &vms[i]},
                       words[i]);
    sm_vm *vm;
    assert_int_equal(sm_pool_acquire(NULL, &vm), -EINVAL);
    assert_int_equal(sm_pool_release(NULL, NULL), -EINVAL);
    assert_int_equal(sm_pool_get_stats(NULL, NULL), -EINVAL);
    sm_pool_free(NULL);
}

static void empty_pool_counts_nothing_and_refuses_strangers(void **state)
{
    (void)state;
    sm_pool *p = NULL;
    assert_int_equal(sm_pool_new(NULL, NULL, &p), 0);   /* min 0: starts nothing */
    sm_pool_stats s = stats_of(p);
    assert_int_equal(s.size, sizeof s);
    assert_int_equal(s.idle + s.acquired + s.starting + s.stopping + s.waiting, 0);
    assert_int_equal(s.started + s.acquisitions + s.failed_starts + s.timeouts, 0);
    /* A caller built against an older, smaller struct gets only its part. */
    sm_pool_stats old;
    memset(&old, 0xAB, sizeof old);
    old.size = offsetof(sm_pool_stats, stopping);
    assert_int_equal(sm_pool_get_stats(p, &old), 0);
    assert_int_equal(old.size, offsetof(sm_pool_stats, stopping));
    for (size_t i = offsetof(sm_pool_stats, stopping); i < sizeof old; i++)
        assert_int_equal(((unsigned char *)&old)[i], 0xAB);
    int not_a_vm;
    assert_int_equal(sm_pool_release(p, (sm_vm *)&not_a_vm), -EINVAL);
    assert_non_null(strstr(sm_last_error(), "not acquired from this pool"));
    sm_pool_free(p);
}

static void fills_hands_out_and_stops_at_max(void **state)
{
    (void)state;
    use_worker("ok");
    sm_pool *p = new_pool((sm_pool_config){
        .size = sizeof(sm_pool_config), .min = 2, .max = 3, .acquire_timeout_ms = 300});
    sm_pool_stats s = wait_settled(p, 2);
    assert_int_equal(s.idle, 2);
    assert_int_equal(s.started, 2);
    assert_int_equal(workers_alive(), 2);

    sm_vm *vm[3];
    uint64_t t0 = now_ms();
    assert_int_equal(sm_pool_acquire(p, &vm[0]), 0);
    assert_true(now_ms() - t0 < 100);   /* an idle VM: no start on the way */
    s = wait_settled(p, 2);             /* refilled, up to max */
    assert_int_equal(s.acquired, 1);
    assert_int_equal(s.started, 3);
    assert_int_equal(sm_pool_acquire(p, &vm[1]), 0);
    assert_int_equal(sm_pool_acquire(p, &vm[2]), 0);
    assert_true(vm[0] != vm[1] && vm[1] != vm[2] && vm[0] != vm[2]);
    s = wait_settled(p, 0);
    assert_int_equal(s.acquired, 3);
    assert_int_equal(s.started, 3);     /* max: no fourth */

    sm_vm *extra = NULL;
    t0 = now_ms();
    assert_int_equal(sm_pool_acquire(p, &extra), -ETIMEDOUT);
    uint64_t waited = now_ms() - t0;
    assert_true(waited >= 290 && waited < 2000);
    assert_non_null(strstr(sm_last_error(), "within 300 ms"));
    assert_null(extra);

    assert_int_equal(sm_pool_release(p, vm[0]), 0);
    assert_int_equal(sm_pool_release(p, vm[0]), -EINVAL);   /* twice */
    s = wait_settled(p, 1);
    assert_int_equal(s.acquisitions, 3);
    assert_int_equal(s.timeouts, 1);
    assert_int_equal(s.discarded, 1);
    assert_int_equal(s.started, 4);     /* its replacement */
    assert_int_equal(s.idle + s.acquired, 3);
    /* Freed with two VMs still acquired: every worker stops. */
    sm_pool_free(p);
    assert_int_equal(workers_alive(), 0);
}

static void released_vm_is_stopped_and_never_handed_out_again(void **state)
{
    (void)state;
    use_worker("ok");
    sm_pool *p = new_pool((sm_pool_config){.size = sizeof(sm_pool_config), .min = 1});
    sm_vm *vm;
    assert_int_equal(sm_pool_acquire(p, &vm), 0);
    char id[65], dir[4096];
    snprintf(id, sizeof id, "%s", sm_vm_id(vm));
    snprintf(dir, sizeof dir, "%s", sm_vm_dir(vm));
    assert_int_equal(sm_pool_release(p, vm), 0);
    struct stat st;
    for (int i = 0; i < 500 && stat(dir, &st) == 0; i++)
        sleep_ms(10);
    assert_int_not_equal(stat(dir, &st), 0);   /* stopped and forgotten */
    assert_int_equal(sm_pool_acquire(p, &vm), 0);
    assert_string_not_equal(sm_vm_id(vm), id);
    sm_pool_stats s = stats_of(p);
    assert_int_equal(s.discarded, 1);
    assert_int_equal(s.acquisitions, 2);
    assert_int_equal(sm_pool_release(p, vm), 0);
    sm_pool_free(p);
    assert_int_equal(workers_alive(), 0);
}

static void idle_vm_above_min_expires(void **state)
{
    (void)state;
    use_worker("slow");   /* 0.5 s to start: the waiter gives up first */
    sm_pool *p = new_pool((sm_pool_config){.size = sizeof(sm_pool_config),
                                           .min = 0,
                                           .max = 2,
                                           .idle_timeout_ms = 300,
                                           .acquire_timeout_ms = 100});
    sm_vm *vm;
    uint64_t t0 = now_ms();
    assert_int_equal(sm_pool_acquire(p, &vm), -ETIMEDOUT);
    sm_pool_stats s = wait_settled(p, 1);   /* it started for nobody */
    assert_int_equal(s.idle, 1);
    assert_int_equal(s.expired, 0);
    for (int i = 0; i < 300 && (s.expired == 0 || s.stopping); i++) {
        sleep_ms(10);
        s = stats_of(p);
    }
    assert_true(now_ms() - t0 >= 300 + 400);   /* started at 0.5 s, idle for 0.3 */
    assert_int_equal(s.idle, 0);
    assert_int_equal(s.expired, 1);
    assert_int_equal(workers_alive(), 0);
    sm_pool_free(p);
}

static void start_failure_reaches_the_waiter_with_its_sentence(void **state)
{
    (void)state;
    use_worker("fail");
    char kernel[64] = "/k/original";
    sm_vm_config vc = {.size = sizeof vc, .kernel = kernel};
    sm_pool *p = new_pool((sm_pool_config){.size = sizeof(sm_pool_config), .max = 1, .vm = &vc});
    strcpy(kernel, "/k/changed");   /* the pool keeps its own copy */
    sm_vm *vm;
    int err = sm_pool_acquire(p, &vm);
    assert_int_equal(err, -EIO);
    const char *msg = sm_last_error();   /* said on a pool thread */
    if (!strstr(msg, "could not start a VM") || !strstr(msg, "fake failure") ||
        !strstr(msg, "\"kernel\":\"/k/original\""))
        fail_msg("unexpected: %s", msg);
    uint64_t t0 = now_ms();
    assert_int_equal(sm_pool_acquire(p, &vm), -EIO);
    assert_true(now_ms() - t0 >= 90);   /* the retry waited its backoff */
    sm_pool_stats s = stats_of(p);
    assert_int_equal(s.failed_starts, 2);
    assert_int_equal(s.started + s.acquisitions, 0);
    sm_pool_free(p);
}

static void failing_starts_back_off(void **state)
{
    (void)state;
    use_worker("fail");
    sm_pool *p = new_pool((sm_pool_config){.size = sizeof(sm_pool_config), .min = 1});
    sleep_ms(1200);   /* tries at about 0, 0.1, 0.3, 0.7 s */
    sm_pool_stats s = stats_of(p);
    if (s.failed_starts < 2 || s.failed_starts > 6)
        fail_msg("%llu failed starts in 1.2 s", (unsigned long long)s.failed_starts);
    sm_pool_free(p);
}

static void times_out_while_a_start_hangs_and_free_waits_for_it(void **state)
{
    (void)state;
    use_worker("hang");
    sm_vm_config vc = {.size = sizeof vc, .start_timeout_ms = 1500};
    sm_pool *p = new_pool((sm_pool_config){
        .size = sizeof(sm_pool_config), .max = 1, .acquire_timeout_ms = 200, .vm = &vc});
    sm_vm *vm;
    uint64_t t0 = now_ms();
    assert_int_equal(sm_pool_acquire(p, &vm), -ETIMEDOUT);
    uint64_t waited = now_ms() - t0;
    assert_true(waited >= 190 && waited < 1200);
    assert_int_equal(stats_of(p).starting, 1);
    sm_pool_free(p);   /* joins the start, which fails at 1.5 s */
    assert_int_equal(workers_alive(), 0);
}

#define THREADS 8
#define ROUNDS 15

typedef struct race {
    sm_pool *pool;
    pthread_mutex_t lock;
    sm_vm *held[THREADS];
    int errors;
} race;

typedef struct racer {
    race *r;
    int me;
} racer;

/* Acquire, check no other thread holds the same VM, release. */
static void *race_loop(void *arg)
{
    racer *me = arg;
    race *r = me->r;
    for (int i = 0; i < ROUNDS; i++) {
        sm_vm *vm;
        if (sm_pool_acquire(r->pool, &vm) != 0) {
            __atomic_add_fetch(&r->errors, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        pthread_mutex_lock(&r->lock);
        for (int t = 0; t < THREADS; t++)
            r->errors += r->held[t] == vm;
        r->held[me->me] = vm;
        pthread_mutex_unlock(&r->lock);
        sleep_ms(1);
        pthread_mutex_lock(&r->lock);
        r->held[me->me] = NULL;
        pthread_mutex_unlock(&r->lock);
        if (sm_pool_release(r->pool, vm) != 0)
            __atomic_add_fetch(&r->errors, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void many_threads_share_the_pool(void **state)
{
    (void)state;
    use_worker("ok");
    race r = {.pool =
                  new_pool((sm_pool_config){.size = sizeof(sm_pool_config), .min = 2, .max = 4})};
    pthread_mutex_init(&r.lock, NULL);
    pthread_t t[THREADS];
    racer who[THREADS];
    for (int i = 0; i < THREADS; i++) {
        who[i] = (racer){&r, i};
        assert_int_equal(pthread_create(&t[i], NULL, race_loop, &who[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(r.errors, 0);
    sm_pool_stats s = wait_settled(r.pool, 2);
    assert_int_equal(s.acquisitions, THREADS * ROUNDS);
    assert_int_equal(s.discarded, THREADS * ROUNDS);
    assert_int_equal(s.acquired, 0);
    assert_int_equal(s.started, s.acquisitions + s.idle);
    sm_pool_free(r.pool);
    pthread_mutex_destroy(&r.lock);
    assert_int_equal(workers_alive(), 0);
}

typedef struct waiter {
    sm_pool *pool;
    int err;
} waiter;

static void *acquire_in_thread(void *arg)
{
    waiter *w = arg;
    sm_vm *vm;
    w->err = sm_pool_acquire(w->pool, &vm);
    return NULL;
}

/* Poll until `n` fake workers are alive (or 5 s pass). */
static int wait_workers(int n)
{
    int alive = workers_alive();
    for (int i = 0; i < 500 && alive != n; i++) {
        sleep_ms(10);
        alive = workers_alive();
    }
    return alive;
}

/* What a program with threads inside the pool does to end it: close
 * wakes the waiter and refuses later acquires, while the VM a thread
 * holds stays usable until it is released. */
static void close_cancels_acquires_and_leaves_acquired_vms(void **state)
{
    (void)state;
    use_worker("ok");
    sm_pool *p = new_pool((sm_pool_config){.size = sizeof(sm_pool_config), .min = 1, .max = 1});
    sm_vm *held, *vm;
    assert_int_equal(sm_pool_acquire(p, &held), 0);
    waiter w = {.pool = p, .err = 1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, acquire_in_thread, &w), 0);
    for (int i = 0; i < 500 && stats_of(p).waiting == 0; i++)
        sleep_ms(10);
    assert_int_equal(stats_of(p).waiting, 1);   /* max 1, and it is held */
    sm_pool_close(p);
    pthread_join(t, NULL);
    assert_int_equal(w.err, -ECANCELED);
    assert_int_equal(sm_pool_acquire(p, &vm), -ECANCELED);
    if (!strstr(sm_last_error(), "sm_pool_close"))
        fail_msg("'%s' does not say why", sm_last_error());
    sm_pool_close(p);   /* twice: nothing more */
    assert_int_equal(stats_of(p).acquired, 1);
    assert_int_equal(wait_workers(1), 1);        /* the held VM lives on */
    assert_int_equal(sm_pool_release(p, held), 0);
    assert_int_equal(wait_workers(0), 0);        /* stopped once released */
    assert_int_equal(stats_of(p).started, 1);    /* and not replaced */
    sm_pool_free(p);
    sm_pool_close(NULL);
}

static void close_stops_idle_vms(void **state)
{
    (void)state;
    use_worker("ok");
    sm_pool *p = new_pool((sm_pool_config){.size = sizeof(sm_pool_config), .min = 2, .max = 2});
    assert_int_equal(wait_settled(p, 2).idle, 2);
    assert_int_equal(wait_workers(2), 2);
    sm_pool_close(p);
    assert_int_equal(wait_workers(0), 0);        /* before the free */
    assert_int_equal(stats_of(p).idle, 0);
    sm_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_configs_that_cannot_work),
        cmocka_unit_test(empty_pool_counts_nothing_and_refuses_strangers),
        cmocka_unit_test(fills_hands_out_and_stops_at_max),
        cmocka_unit_test(released_vm_is_stopped_and_never_handed_out_again),
        cmocka_unit_test(idle_vm_above_min_expires),
        cmocka_unit_test(start_failure_reaches_the_waiter_with_its_sentence),
        cmocka_unit_test(failing_starts_back_off),
        cmocka_unit_test(times_out_while_a_start_hangs_and_free_waits_for_it),
        cmocka_unit_test(many_threads_share_the_pool),
        cmocka_unit_test(close_cancels_acquires_and_leaves_acquired_vms),
        cmocka_unit_test(close_stops_idle_vms),
    };
    return cmocka_run_group_tests(tests, make_scripts, remove_scripts);
}
