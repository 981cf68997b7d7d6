/*
 * The library surface against one real VM (booted once for the group):
 * exec, output, exit codes, timeouts, signals, stdin streaming, many execs
 * at once, files, and a disk over virtio-blk.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

typedef struct fixture {
    sm_vm *vm;
    char disk[64];
} fixture;

/* An ext4 image holding /hello.txt, made with mke2fs -d. */
static int make_disk(char *path)
{
    char dir[] = "/tmp/sm-disk-src-XXXXXX", cmd[512];
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof cmd, "printf 'from the disk\\n' > %s/hello.txt && "
             "mke2fs -q -F -t ext4 -d %s %s 8M && rm -rf %s", dir, dir, path, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    static fixture f;
    snprintf(f.disk, sizeof f.disk, "/tmp/sm-test-disk-%d.ext4", getpid());
    if (make_disk(f.disk) < 0) {
        fprintf(stderr, "cannot make the test disk\n");
        return -1;
    }
    sm_disk d = {.path = f.disk, .read_only = 1};
    sm_vm_config c = {.size = sizeof c, .disks = &d, .ndisks = 1, .cpus = 2,
                      .start_timeout_ms = 600000};
    if (sm_vm_start(NULL, &c, &f.vm) != 0) {
        fprintf(stderr, "sm_vm_start: %s\n", sm_last_error());
        return -1;
    }
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sm_vm_stop(f->vm);
    unlink(f->disk);
    return 0;
}

static sm_exec_result run(fixture *f, const sm_exec *ex)
{
    sm_exec_result r = {.size = sizeof r};
    int err = sm_vm_exec(f->vm, ex, &r);
    if (err)
        fail_msg("exec failed: %s", sm_last_error());
    return r;
}

static void echo_output(void **state)
{
    sm_exec_result r = run(*state, &(sm_exec){.argv = ARGV("echo", "hello", "world")});
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "hello world\n");
    assert_int_equal(r.stderr_len, 0);
    assert_true(r.peak_rss_kib > 0);
    sm_exec_result_free(&r);
}

static void exit_code_and_stderr(void **state)
{
    sm_exec_result r = run(*state, &(sm_exec){.argv = ARGV("sh", "-c", "echo oops >&2; exit 3")});
    assert_int_equal(r.exit_status, 3);
    assert_int_equal(r.signal, 0);
    assert_string_equal(r.stderr_data, "oops\n");
    sm_exec_result_free(&r);
}

static void env_cwd_and_user(void **state)
{
    sm_exec_result r = run(*state, &(sm_exec){
        .argv = ARGV("sh", "-c", "echo $GREETING; pwd; id -u; id -g"),
        .env = ARGV("GREETING=hi there", "PATH=/bin:/usr/bin"), .cwd = "/tmp",
        .uid = 1234, .gid = 567});
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "hi there\n/tmp\n1234\n567\n");
    sm_exec_result_free(&r);
}

static void killed_by_timeout(void **state)
{
    sm_exec_result r = run(*state, &(sm_exec){.argv = ARGV("sleep", "60"), .timeout_ms = 1000});
    assert_true(r.timed_out);
    assert_int_equal(r.signal, SIGKILL);
    assert_int_equal(r.exit_status, 128 + SIGKILL);
    sm_exec_result_free(&r);
}

static int saw_ready(void *ctx, const void *data, size_t len)
{
    if (memmem(data, len, "ready", 5))
        __atomic_store_n((int *)ctx, 1, __ATOMIC_SEQ_CST);
    return 0;
}

typedef struct waiter {
    sm_exec_handle *h;
    sm_exec_result r;
    int err;
} waiter;

static void *wait_thread(void *arg)
{
    waiter *w = arg;
    w->r.size = sizeof w->r;
    w->err = sm_exec_wait(w->h, &w->r);
    return NULL;
}

static void receives_sigterm(void **state)
{
    fixture *f = *state;
    int ready = 0;
    waiter w = {0};
    sm_exec ex = {.argv = ARGV("sh", "-c", "echo ready; exec sleep 60"),
                  .on_stdout = saw_ready, .ctx = &ready};
    assert_int_equal(sm_vm_exec_start(f->vm, &ex, &w.h), 0);
    pthread_t t;
    pthread_create(&t, NULL, wait_thread, &w);
    for (int i = 0; i < 6000 && !__atomic_load_n(&ready, __ATOMIC_SEQ_CST); i++)
        usleep(10000);
    assert_true(ready);
    assert_int_equal(sm_exec_signal(w.h, SIGTERM), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.err, 0);
    assert_int_equal(w.r.signal, SIGTERM);
    assert_int_equal(w.r.exit_status, 143);
    assert_false(w.r.timed_out);
    /* A late signal from another thread finds the command ended, safely. */
    assert_int_equal(sm_exec_signal(w.h, SIGTERM), -ESRCH);
    sm_exec_free(w.h);
    sm_exec_result_free(&w.r);
}

typedef struct hasher {
    EVP_MD_CTX *sha;
    size_t bytes;
} hasher;

static int hash_output(void *ctx, const void *data, size_t len)
{
    hasher *h = ctx;
    EVP_DigestUpdate(h->sha, data, len);
    h->bytes += len;
    return 0;
}

static void stdin_round_trip(void **state)
{
    size_t size = (size_t)atoi(getenv("SM_STDIN_MIB") ? getenv("SM_STDIN_MIB") : "100") << 20;
    uint8_t *data = malloc(size);
    assert_non_null(data);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
    uint8_t want[32], got[32];
    SHA256(data, size, want);
    hasher h = {.sha = EVP_MD_CTX_new()};
    EVP_DigestInit_ex(h.sha, EVP_sha256(), NULL);
    sm_exec_result r = run(*state, &(sm_exec){.argv = ARGV("cat"), .stdin_data = data,
                                              .stdin_len = size, .on_stdout = hash_output,
                                              .ctx = &h});
    EVP_DigestFinal_ex(h.sha, got, NULL);
    EVP_MD_CTX_free(h.sha);
    assert_int_equal(r.exit_status, 0);
    assert_int_equal(h.bytes, size);
    assert_memory_equal(got, want, 32);
    free(data);
}

#define PARALLEL 32

typedef struct par {
    fixture *f;
    int i, ok;
} par;

static void *par_exec(void *arg)
{
    par *p = arg;
    char n[16], want[32];
    snprintf(n, sizeof n, "%d", p->i);
    snprintf(want, sizeof want, "job %d\n", p->i);
    sm_exec_result r = {.size = sizeof r};
    p->ok = 0;
    if (sm_vm_exec(p->f->vm, &(sm_exec){.argv = ARGV("echo", "job", n)}, &r) == 0)
        p->ok = r.exit_status == 0 && r.stdout_data && !strcmp(r.stdout_data, want);
    else
        fprintf(stderr, "exec %d: %s\n", p->i, sm_last_error());
    if (!p->ok)
        fprintf(stderr, "exec %d: status %d out [%s] err [%s]\n", p->i, r.exit_status,
                r.stdout_data ? r.stdout_data : "", r.stderr_data ? r.stderr_data : "");
    sm_exec_result_free(&r);
    return NULL;
}

static void many_at_once(void **state)
{
    pthread_t t[PARALLEL];
    par p[PARALLEL];
    for (int i = 0; i < PARALLEL; i++) {
        p[i] = (par){.f = *state, .i = i};
        pthread_create(&t[i], NULL, par_exec, &p[i]);
    }
    int ok = 0;
    for (int i = 0; i < PARALLEL; i++) {
        pthread_join(t[i], NULL);
        ok += p[i].ok;
    }
    assert_int_equal(ok, PARALLEL);
}

static void file_round_trip(void **state)
{
    fixture *f = *state;
    size_t size = 10u << 20;
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 12));
    assert_int_equal(sm_vm_write_file(f->vm, "/tmp/deep/dir/file.bin", data, size, 0640,
                                      SM_FILE_MKDIRS), 0);
    void *back;
    size_t len;
    assert_int_equal(sm_vm_read_file(f->vm, "/tmp/deep/dir/file.bin", 0, &back, &len), 0);
    assert_int_equal(len, size);
    assert_memory_equal(back, data, size);
    sm_file_stat st;
    assert_int_equal(sm_vm_stat(f->vm, "/tmp/deep/dir/file.bin", &st), 0);
    assert_int_equal(st.mode & 07777, 0640);
    assert_int_equal(st.size, size);
    free(back);
    free(data);
}

static void missing_file_is_enoent(void **state)
{
    fixture *f = *state;
    void *data = NULL;
    size_t len;
    assert_int_equal(sm_vm_read_file(f->vm, "/no/such/file", 0, &data, &len), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "/no/such/file"));
    sm_file_stat st;
    assert_int_equal(sm_vm_stat(f->vm, "/no/such/file", &st), -ENOENT);
    /* The agent is still there. */
    sm_exec_result r = run(f, &(sm_exec){.argv = ARGV("true")});
    assert_int_equal(r.exit_status, 0);
}

static void staged_file_then_exec(void **state)
{
    static const char body[] = "#!/bin/sh\necho staged ok\n";
    sm_file script = {.path = "/tmp/staged/run.sh", .data = body, .len = sizeof body - 1,
                      .mode = 0755};
    sm_exec_result r = run(*state, &(sm_exec){.argv = ARGV("/tmp/staged/run.sh"),
                                              .files = &script, .nfiles = 1});
    if (r.exit_status)
        fprintf(stderr, "staged: %s%s\n", r.stdout_data ? r.stdout_data : "", r.stderr_data ? r.stderr_data : "");
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "staged ok\n");
    sm_exec_result_free(&r);
}

static void reads_ext4_over_virtio_blk(void **state)
{
    sm_exec_result r = run(*state, &(sm_exec){
        .argv = ARGV("sh", "-c", "mkdir -p /mnt/d && mount -t ext4 -o ro /dev/vda /mnt/d && "
                                 "cat /mnt/d/hello.txt && umount /mnt/d")});
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "from the disk\n");
    sm_exec_result_free(&r);
}

static void too_many_disks_refused(void **state)
{
    (void)state;
    sm_disk d[9];
    for (int i = 0; i < 9; i++)
        d[i] = (sm_disk){.path = "/dev/null", .read_only = 1};
    sm_vm *vm = NULL;
    sm_vm_config c = {.size = sizeof c, .disks = d, .ndisks = 9};
    assert_int_equal(sm_vm_start(NULL, &c, &vm), -EINVAL);
    assert_null(vm);
    assert_non_null(strstr(sm_last_error(), "at most 8"));
}

int main(void)
{
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("no usable /dev/kvm\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_output),
        cmocka_unit_test(exit_code_and_stderr),
        cmocka_unit_test(env_cwd_and_user),
        cmocka_unit_test(killed_by_timeout),
        cmocka_unit_test(receives_sigterm),
        cmocka_unit_test(many_at_once),
        cmocka_unit_test(file_round_trip),
        cmocka_unit_test(missing_file_is_enoent),
        cmocka_unit_test(staged_file_then_exec),
        cmocka_unit_test(reads_ext4_over_virtio_blk),
        cmocka_unit_test(stdin_round_trip),
        cmocka_unit_test(too_many_disks_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
