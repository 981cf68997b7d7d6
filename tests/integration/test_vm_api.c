/*
 * The library surface against one real VM (booted once for the group):
 * exec, output, exit codes, timeouts, signals, stdin streaming, many execs
 * at once, files, a disk over virtio-blk, TCP into the guest without a
 * network (sm_vm_connect, sm_vm_expose_tcp and its undoing), and a
 * shutdown while other threads are inside the VM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "supermachine.h"

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

typedef struct fixture {
    sm_vm *vm;
    char disk[64];
    uint16_t exposed_port;  /* a host port sm_vm_expose_tcp listens on */
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

static int tcp_dial(uint16_t port);

static int teardown(void **state)
{
    fixture *f = *state;
    sm_vm_stop(f->vm);
    unlink(f->disk);
    /* Stopping the VM closed what sm_vm_expose_tcp listened on. */
    int fd = f->exposed_port ? tcp_dial(f->exposed_port) : -1;
    if (fd >= 0) {
        fprintf(stderr, "host port %u still accepts after sm_vm_stop\n", f->exposed_port);
        close(fd);
        return -1;
    }
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
    sm_exec_result r =
        run(*state, &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("echo", "hello", "world")});
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "hello world\n");
    assert_int_equal(r.stderr_len, 0);
    assert_true(r.peak_rss_kib > 0);
    sm_exec_result_free(&r);
}

static void exit_code_and_stderr(void **state)
{
    sm_exec_result r = run(*state, &(sm_exec){.size = sizeof(sm_exec),
                                              .argv = ARGV("sh", "-c", "echo oops >&2; exit 3")});
    assert_int_equal(r.exit_status, 3);
    assert_int_equal(r.signal, 0);
    assert_string_equal(r.stderr_data, "oops\n");
    sm_exec_result_free(&r);
}

static void env_cwd_and_user(void **state)
{
    sm_exec_result r =
        run(*state, &(sm_exec){.size = sizeof(sm_exec),
                               .argv = ARGV("sh", "-c", "echo $GREETING; pwd; id -u; id -g"),
                               .env = ARGV("GREETING=hi there", "PATH=/bin:/usr/bin"),
                               .cwd = "/tmp",
                               .uid = 1234,
                               .gid = 567});
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "hi there\n/tmp\n1234\n567\n");
    sm_exec_result_free(&r);
}

static void killed_by_timeout(void **state)
{
    sm_exec_result r =
        run(*state,
            &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("sleep", "60"), .timeout_ms = 1000});
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
    sm_exec ex = {.size = sizeof(sm_exec),
                  .argv = ARGV("sh", "-c", "echo ready; exec sleep 60"),
                  .on_stdout = saw_ready,
                  .ctx = &ready};
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
    sm_exec_result r = run(*state, &(sm_exec){.size = sizeof(sm_exec),
                                              .argv = ARGV("cat"),
                                              .stdin_data = data,
                                              .stdin_len = size,
                                              .on_stdout = hash_output,
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
    if (sm_vm_exec(p->f->vm, &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("echo", "job", n)},
                   &r) == 0)
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
    sm_file_stat st = SM_FILE_STAT_INIT;
    assert_int_equal(sm_vm_stat(f->vm, "/tmp/deep/dir/file.bin", &st), 0);
    assert_int_equal(st.mode & 07777, 0640);
    assert_int_equal(st.bytes, size);
    sm_free(back);
    free(data);
}

static void missing_file_is_enoent(void **state)
{
    fixture *f = *state;
    void *data = NULL;
    size_t len;
    assert_int_equal(sm_vm_read_file(f->vm, "/no/such/file", 0, &data, &len), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "/no/such/file"));
    sm_file_stat st = SM_FILE_STAT_INIT;
    assert_int_equal(sm_vm_stat(f->vm, "/no/such/file", &st), -ENOENT);
    /* The agent is still there. */
    sm_exec_result r = run(f, &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("true")});
    assert_int_equal(r.exit_status, 0);
}

static void staged_file_then_exec(void **state)
{
    static const char body[] = "#!/bin/sh\necho staged ok\n";
    sm_file script = {.path = "/tmp/staged/run.sh", .data = body, .len = sizeof body - 1,
                      .mode = 0755};
    sm_exec_result r = run(*state, &(sm_exec){.size = sizeof(sm_exec),
                                              .argv = ARGV("/tmp/staged/run.sh"),
                                              .files = &script,
                                              .nfiles = 1});
    if (r.exit_status)
        fprintf(stderr, "staged: %s%s\n", r.stdout_data ? r.stdout_data : "", r.stderr_data ? r.stderr_data : "");
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "staged ok\n");
    sm_exec_result_free(&r);
}

static void reads_ext4_over_virtio_blk(void **state)
{
    sm_exec_result r = run(
        *state, &(sm_exec){.size = sizeof(sm_exec),
                           .argv = ARGV("sh", "-c",
                                        "mkdir -p /mnt/d && mount -t ext4 -o ro /dev/vda /mnt/d && "
                                        "cat /mnt/d/hello.txt && umount /mnt/d")});
    assert_int_equal(r.exit_status, 0);
    assert_string_equal(r.stdout_data, "from the disk\n");
    sm_exec_result_free(&r);
}

/* ---- TCP into the guest ---- */

/* A server started in the background in the guest, with a socket to it
 * once it listens (the first successful connect is the server's). */
static int guest_server(fixture *f, uint16_t port, const char *cmd)
{
    char sh[512];
    snprintf(sh, sizeof sh, "%s </dev/null >/dev/null 2>&1 &", cmd);
    sm_exec_result r = run(f, &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("sh", "-c", sh)});
    assert_int_equal(r.exit_status, 0);
    sm_exec_result_free(&r);
    int fd = -1, err = -ECONNREFUSED;
    for (int i = 0; i < 600 && err == -ECONNREFUSED; i++) {
        err = sm_vm_connect(f->vm, port, &fd);
        if (err == -ECONNREFUSED)
            usleep(50000);
    }
    if (err)
        fail_msg("sm_vm_connect to guest port %u: %s", port, sm_last_error());
    return fd;
}

static void recv_timeout(int fd)
{
    struct timeval tv = {.tv_sec = 60};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* Exactly n bytes, or fewer at the end of the stream. */
static size_t read_n(int fd, void *buf, size_t n)
{
    size_t got = 0;
    recv_timeout(fd);
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            fail_msg("read: %s", strerror(errno));
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return got;
}

static void write_all(int fd, const void *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t w = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
        if (w <= 0)
            fail_msg("write: %s", strerror(errno));
        off += (size_t)w;
    }
}

static int tcp_dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* The server speaks first: its banner must survive the agent's handshake;
 * then our half close reaches it and its answer still comes back. */
static void tcp_connect_banner_and_half_close(void **state)
{
    int fd = guest_server(*state, 7001,
                          "nc -l -p 7001 -e sh -c 'echo banner; cat; echo done'");
    char buf[64] = {0};
    assert_int_equal(read_n(fd, buf, 7), 7);
    assert_string_equal(buf, "banner\n");
    write_all(fd, "ping\n", 5);
    assert_int_equal(shutdown(fd, SHUT_WR), 0);
    memset(buf, 0, sizeof buf);
    assert_int_equal(read_n(fd, buf, sizeof buf - 1), 10);
    assert_string_equal(buf, "ping\ndone\n");
    close(fd);
}

static void tcp_connect_refused(void **state)
{
    fixture *f = *state;
    int fd = -1;
    assert_int_equal(sm_vm_connect(f->vm, 7009, &fd), -ECONNREFUSED);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(sm_last_error(), "port 7009"));
    /* The agent is still there. */
    sm_exec_result r = run(f, &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("true")});
    assert_int_equal(r.exit_status, 0);
}

#define BULK (2u << 20)

static uint8_t pattern(size_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

static void *bulk_writer(void *arg)
{
    int fd = *(int *)arg;
    static uint8_t chunk[1 << 16];
    for (size_t off = 0; off < BULK; off += sizeof chunk) {
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = pattern(off + i);
        if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) != (ssize_t)sizeof chunk)
            break;
    }
    shutdown(fd, SHUT_WR);
    return NULL;
}

/* Two host connections at once through one exposure to an echo server
 * (busybox nc forks one cat per connection), then one of them carries
 * more than any buffer both ways and ends with a half close. */
static void expose_tcp_two_at_once(void **state)
{
    fixture *f = *state;
    close(guest_server(f, 7002, "nc -ll -p 7002 -e cat"));
    uint16_t port = 0;
    assert_int_equal(sm_vm_expose_tcp(f->vm, NULL, &port, 7002), 0);
    assert_true(port != 0);
    f->exposed_port = port;
    int a = tcp_dial(port), b = tcp_dial(port);
    assert_true(a >= 0 && b >= 0);
    write_all(a, "one", 3);
    write_all(b, "two", 3);
    char buf[4] = {0};
    assert_int_equal(read_n(b, buf, 3), 3);
    assert_string_equal(buf, "two");
    assert_int_equal(read_n(a, buf, 3), 3);
    assert_string_equal(buf, "one");
    close(a);
    pthread_t t;
    pthread_create(&t, NULL, bulk_writer, &b);
    static uint8_t in[1 << 16];
    size_t got = 0, bad = 0, n;
    while ((n = read_n(b, in, sizeof in)) > 0) {
        for (size_t i = 0; i < n; i++)
            bad += in[i] != pattern(got + i);
        got += n;
    }
    pthread_join(t, NULL);
    close(b);
    assert_int_equal(got, BULK);
    assert_int_equal(bad, 0);
}

/* With nothing listening in the guest the host's connection is reset. */
static void expose_tcp_without_listener(void **state)
{
    fixture *f = *state;
    uint16_t port = 0;
    assert_int_equal(sm_vm_expose_tcp(f->vm, "127.0.0.1", &port, 7010), 0);
    int fd = tcp_dial(port);
    assert_true(fd >= 0);
    recv_timeout(fd);
    char c;
    ssize_t n = read(fd, &c, 1);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
}

static void expose_tcp_port_in_use(void **state)
{
    fixture *f = *state;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(l, 1), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    uint16_t taken = ntohs(a.sin_port), port = taken;
    assert_int_equal(sm_vm_expose_tcp(f->vm, "127.0.0.1", &port, 7002), -EADDRINUSE);
    assert_int_equal(port, taken);
    char want[32];
    snprintf(want, sizeof want, "127.0.0.1:%u", taken);
    assert_non_null(strstr(sm_last_error(), want));
    close(l);
    port = 0;
    assert_int_equal(sm_vm_expose_tcp(f->vm, "localhost.invalid", &port, 7002), -EINVAL);
}

/* After expose_tcp_two_at_once (its echo server on 7002 serves on). */
static void unexpose_tcp_closes_port_and_connections(void **state)
{
    fixture *f = *state;
    uint16_t port = 0;
    assert_int_equal(sm_vm_expose_tcp(f->vm, NULL, &port, 7002), 0);
    int fd = tcp_dial(port);
    assert_true(fd >= 0);
    write_all(fd, "hi", 2);
    char buf[3] = {0};
    assert_int_equal(read_n(fd, buf, 2), 2);   /* forwarded, open */
    assert_int_equal(sm_vm_unexpose_tcp(f->vm, port), 0);
    ssize_t n = read(fd, buf, 1);
    assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
    close(fd);
    assert_int_equal(tcp_dial(port), -1);      /* nothing listens there now */
    assert_int_equal(sm_vm_unexpose_tcp(f->vm, port), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "exposes nothing"));
    assert_int_equal(sm_vm_unexpose_tcp(NULL, port), -EINVAL);
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

typedef struct in_flight {
    sm_vm *vm;
    int started;            /* its command wrote "go" */
    int err;
} in_flight;

static int saw_go(void *ctx, const void *data, size_t len)
{
    (void)data, (void)len;
    __atomic_store_n(&((in_flight *)ctx)->started, 1, __ATOMIC_RELEASE);
    return 0;
}

static void *long_exec(void *arg)
{
    in_flight *c = arg;
    sm_exec ex = {.size = sizeof ex, .argv = ARGV("sh", "-c", "echo go; exec sleep 600"),
                  .on_stdout = saw_go, .ctx = c};
    sm_exec_result r = {.size = sizeof r};
    c->err = sm_vm_exec(c->vm, &ex, &r);
    sm_exec_result_free(&r);
    return NULL;
}

static void *shut_down(void *arg)
{
    return (void *)(intptr_t)sm_vm_shutdown(arg, SIGKILL, 0);
}

/* How a program ends a VM that other threads are still in: sm_vm_shutdown
 * from two threads at once ends the execs in flight with an error, the
 * handle stays valid (later calls fail, they do not crash), and the
 * group's teardown then stops it. Last: the group's VM is gone after. */
static void shutdown_ends_calls_in_flight(void **state)
{
    fixture *f = *state;
    in_flight c[2] = {{.vm = f->vm, .err = 1}, {.vm = f->vm, .err = 1}};
    pthread_t t[2], s[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, long_exec, &c[i]), 0);
    for (int i = 0; i < 60000 && !(__atomic_load_n(&c[0].started, __ATOMIC_ACQUIRE) &&
                                   __atomic_load_n(&c[1].started, __ATOMIC_ACQUIRE)); i++)
        usleep(1000);
    assert_true(c[0].started && c[1].started);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&s[i], NULL, shut_down, f->vm), 0);
    for (int i = 0; i < 2; i++) {
        void *rc;
        pthread_join(s[i], &rc);
        assert_int_equal((intptr_t)rc, 0);
        pthread_join(t[i], NULL);
        if (c[i].err >= 0)
            fail_msg("exec %d in flight returned %d after the VM was shut down", i, c[i].err);
    }
    sm_exec_result r = {.size = sizeof r};
    assert_true(sm_vm_exec(f->vm, &(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("true")},
                           &r) < 0);
    assert_true(strlen(sm_last_error()) > 0);
    assert_int_equal(sm_vm_shutdown(f->vm, SIGKILL, 0), 0);   /* already down */
}

int main(void)
{
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
        cmocka_unit_test(tcp_connect_banner_and_half_close),
        cmocka_unit_test(tcp_connect_refused),
        cmocka_unit_test(expose_tcp_two_at_once),
        cmocka_unit_test(expose_tcp_without_listener),
        cmocka_unit_test(expose_tcp_port_in_use),
        cmocka_unit_test(unexpose_tcp_closes_port_and_connections),
        cmocka_unit_test(stdin_round_trip),
        cmocka_unit_test(too_many_disks_refused),
        cmocka_unit_test(shutdown_ends_calls_in_flight),   /* last: ends the VM */
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
