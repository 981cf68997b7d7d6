/* The agent's exec, served on the host over a Unix socket and driven by
 * the client: the flows the VM tests later repeat over vsock. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "agent_harness.h"
#include "supermachine.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define REQ(...) ((sm_agent_exec_req){.uid = -1, .gid = -1, __VA_ARGS__})

static int setup(void **state)
{
    harness *h = malloc(sizeof *h);
    harness_start(h);
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    harness_stop(*state);
    free(*state);
    return 0;
}

/* Run to the end with buffered output; asserts success. */
static sm_agent_exit run(harness *h, sm_agent_exec_req req, const char *in, sm_agent_output *out)
{
    sm_agent_conn *c = harness_conn(h);
    sm_agent_exit x;
    int err = sm_agent_exec_run(c, &req, in, in ? strlen(in) : 0, 1 << 20, out, &x);
    if (err)
        fail_msg("exec %s: %s", req.argv[0], sm_last_error());
    sm_agent_conn_close(c);
    return x;
}

static void echo(void **state)
{
    sm_agent_output o;
    sm_agent_exit x = run(*state, REQ(.argv = ARGV("echo", "hello", "world")), NULL, &o);
    assert_int_equal(x.status, 0);
    assert_int_equal(x.termsig, 0);
    assert_false(x.timed_out);
    assert_true(x.maxrss_kib > 0);
    assert_string_equal(o.out, "hello world\n");
    assert_string_equal(o.err, "");
    sm_agent_output_free(&o);
}

static void exit_status(void **state)
{
    sm_agent_output o;
    sm_agent_exit x = run(*state, REQ(.argv = ARGV("sh", "-c", "exit 3")), NULL, &o);
    assert_int_equal(x.status, 3);
    assert_int_equal(x.termsig, 0);
    sm_agent_output_free(&o);
}

static void stdout_and_stderr_apart(void **state)
{
    sm_agent_output o;
    sm_agent_exit x = run(*state,
                          REQ(.argv = ARGV("sh", "-c", "echo out; echo err >&2; echo out2")),
                          NULL, &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "out\nout2\n");
    assert_string_equal(o.err, "err\n");
    sm_agent_output_free(&o);
}

static void environment_cwd_and_user(void **state)
{
    if (getuid() != 0)
        skip();  /* the agent runs as root in a VM */
    sm_agent_output o;
    sm_agent_exit x = run(*state,
                          ((sm_agent_exec_req){
                              .argv = ARGV("sh", "-c", "pwd; echo $FOO; echo $HOME; id -u; id -G"),
                              .env = ARGV("FOO=bar"), .cwd = "/tmp", .uid = 65534,
                              .gid = 65534, .has_groups = true,
                              .groups = (const uint32_t[]){65534, 100}, .ngroups = 2}),
                          NULL, &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "/tmp\nbar\n/root\n65534\n65534 100\n");
    sm_agent_output_free(&o);
}

static void command_not_found(void **state)
{
    sm_agent_output o;
    sm_agent_exit x = run(*state, REQ(.argv = ARGV("/no/such/program")), NULL, &o);
    assert_int_equal(x.status, 127);
    assert_non_null(strstr((char *)o.err, "/no/such/program"));
    sm_agent_output_free(&o);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void killed_by_timeout(void **state)
{
    sm_agent_output o;
    double t0 = now_s();
    /* The child of sh shares its process group: the whole group dies. */
    sm_agent_exit x = run(*state, REQ(.argv = ARGV("sh", "-c", "sleep 30; echo not reached"),
                                      .timeout_ms = 300),
                          NULL, &o);
    double dt = now_s() - t0;
    assert_true(x.timed_out);
    assert_int_equal(x.termsig, SIGKILL);
    assert_int_equal(x.status, -1);
    assert_true(dt >= 0.25 && dt < 10);
    assert_string_equal(o.out, "");
    sm_agent_output_free(&o);
}

typedef struct signal_ctx {
    sm_agent_exec *e;
    bool sent;
} signal_ctx;

/* Signal once the command has shown it runs. */
static int signal_when_ready(void *ctx, const void *data, size_t len)
{
    signal_ctx *s = ctx;
    (void)data, (void)len;
    if (!s->sent) {
        s->sent = true;
        return sm_agent_exec_signal(s->e, SIGTERM, false);
    }
    return 0;
}

static void sigterm_from_host(void **state)
{
    sm_agent_conn *c = harness_conn(*state);
    signal_ctx s = {0};
    assert_int_equal(sm_agent_exec_start(c, &REQ(.argv = ARGV("sh", "-c", "echo ready; exec sleep 30")),
                                         &s.e), 0);
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = signal_when_ready;
    io.ctx = &s;
    sm_agent_exit x;
    assert_int_equal(sm_agent_exec_wait(s.e, &io, &x), 0);
    assert_true(s.sent);
    assert_true(sm_agent_exec_pid(s.e) > 0);
    assert_int_equal(x.termsig, SIGTERM);
    assert_false(x.timed_out);
    /* The command is gone: further calls say so. */
    assert_int_equal(sm_agent_exec_signal(s.e, SIGTERM, false), -EPIPE);
    sm_agent_exec_free(s.e);
    sm_agent_conn_close(c);
}

static void stdin_from_memory(void **state)
{
    sm_agent_output o;
    sm_agent_exit x = run(*state, REQ(.argv = ARGV("tr", "a-z", "A-Z")), "hello stdin\n", &o);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "HELLO STDIN\n");
    sm_agent_output_free(&o);
}

static void stdin_from_fd_and_output_to_fd(void **state)
{
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    assert_int_equal(write(in[1], "via fds\n", 8), 8);
    close(in[1]);
    sm_agent_conn *c = harness_conn(*state);
    sm_agent_exec *e;
    assert_int_equal(sm_agent_exec_start(c, &REQ(.argv = ARGV("cat"), .stdin_pipe = true), &e), 0);
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.stdin_fd = in[0];
    io.stdout_fd = out[1];
    sm_agent_exit x;
    assert_int_equal(sm_agent_exec_wait(e, &io, &x), 0);
    assert_int_equal(x.status, 0);
    char buf[16] = {0};
    assert_int_equal(read(out[0], buf, sizeof buf - 1), 8);
    assert_string_equal(buf, "via fds\n");
    sm_agent_exec_free(e);
    sm_agent_conn_close(c);
    close(in[0]), close(out[0]), close(out[1]);
}

/* ---- 100 MiB through cat ---- */

typedef struct hash_ctx {
    EVP_MD_CTX *md;
    size_t bytes;
} hash_ctx;

static int hash_chunk(void *ctx, const void *data, size_t len)
{
    hash_ctx *h = ctx;
    EVP_DigestUpdate(h->md, data, len);
    h->bytes += len;
    return 0;
}

static void stream_100_mib(void **state)
{
    harness *h = *state;
    const size_t size = 100u << 20;
    uint8_t *data = malloc(size);
    uint64_t s = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < size; i += 8) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        memcpy(data + i, &s, 8);
    }
    unsigned char want[32], got[32];
    unsigned int n;
    EVP_Digest(data, size, want, &n, EVP_sha256(), NULL);

    hash_ctx hc = {.md = EVP_MD_CTX_new()};
    EVP_DigestInit_ex(hc.md, EVP_sha256(), NULL);
    long rss_before = harness_peak_rss_kib(h);
    sm_agent_conn *c = harness_conn(h);
    sm_agent_exec *e;
    assert_int_equal(sm_agent_exec_start(c, &REQ(.argv = ARGV("cat"), .stdin_pipe = true), &e), 0);
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.stdin_data = data;
    io.stdin_len = size;
    io.on_stdout = hash_chunk;
    io.ctx = &hc;
    sm_agent_exit x;
    double t0 = now_s();
    assert_int_equal(sm_agent_exec_wait(e, &io, &x), 0);
    double dt = now_s() - t0;
    assert_int_equal(x.status, 0);
    assert_int_equal(hc.bytes, size);
    EVP_DigestFinal_ex(hc.md, got, &n);
    assert_memory_equal(want, got, 32);
    long rss_after = harness_peak_rss_kib(h);
    print_message("100 MiB through cat in %.2f s (%.0f MiB/s); agent peak RSS %ld -> %ld KiB\n",
                  dt, 100 / dt, rss_before, rss_after);
    /* Flow control: the agent holds a few buffers, never the stream. */
    assert_true(rss_after - rss_before < 16 * 1024);
    EVP_MD_CTX_free(hc.md);
    sm_agent_exec_free(e);
    sm_agent_conn_close(c);
    free(data);
}

/* ---- 32 at once ---- */

typedef struct par {
    harness *h;
    int i;
    int ok;
} par;

static void *run_one(void *arg)
{
    par *p = arg;
    char word[32], want[48];
    snprintf(word, sizeof word, "n%d", p->i);
    snprintf(want, sizeof want, "%s\n", word);
    sm_agent_conn *c = harness_conn(p->h);
    sm_agent_output o;
    sm_agent_exit x;
    /* Each takes a while, so all 32 run at the same time. */
    sm_agent_exec_req req = REQ(.argv = ARGV("sh", "-c", "sleep 0.3; echo $0", word));
    if (sm_agent_exec_run(c, &req, NULL, 0, 4096, &o, &x) == 0) {
        p->ok = x.status == 0 && strcmp((char *)o.out, want) == 0;
        sm_agent_output_free(&o);
    }
    sm_agent_conn_close(c);
    return NULL;
}

static void concurrent_32(void **state)
{
    pthread_t t[32];
    par p[32];
    double t0 = now_s();
    for (int i = 0; i < 32; i++) {
        p[i] = (par){*state, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, run_one, &p[i]), 0);
    }
    for (int i = 0; i < 32; i++) {
        pthread_join(t[i], NULL);
        assert_true(p[i].ok);
    }
    /* Served at once, not one after another (32 x 0.3 s). */
    assert_true(now_s() - t0 < 5);
}

/* ---- pty ---- */

static void pty_echo(void **state)
{
    sm_agent_output o;
    sm_agent_exit x = run(*state, REQ(.argv = ARGV("cat"), .pty = true), "hello pty\n", &o);
    assert_int_equal(x.status, 0);
    /* The terminal echoes the line and cat repeats it, both with \r\n. */
    assert_non_null(strstr((char *)o.out, "hello pty\r\nhello pty\r\n"));
    assert_string_equal(o.err, "");
    sm_agent_output_free(&o);
}

typedef struct resize_ctx {
    sm_agent_exec *e;
    char seen[4096];
    size_t len;
    bool resized;
} resize_ctx;

static int resize_when_sized(void *ctx, const void *data, size_t len)
{
    resize_ctx *r = ctx;
    if (len > sizeof r->seen - 1 - r->len)
        len = sizeof r->seen - 1 - r->len;
    memcpy(r->seen + r->len, data, len);
    r->len += len;
    r->seen[r->len] = 0;
    if (!r->resized && strstr(r->seen, "30 100")) {
        r->resized = true;
        int err = sm_agent_exec_resize(r->e, 50, 132);
        return err ? err : sm_agent_exec_write_stdin(r->e, "go\n", 3);
    }
    return 0;
}

static void pty_resize(void **state)
{
    sm_agent_conn *c = harness_conn(*state);
    resize_ctx r = {0};
    assert_int_equal(sm_agent_exec_start(c, &REQ(.argv = ARGV("sh", "-c", "stty size; read x; stty size"),
                                                 .pty = true, .rows = 30, .cols = 100),
                                         &r.e), 0);
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = resize_when_sized;
    io.ctx = &r;
    sm_agent_exit x;
    assert_int_equal(sm_agent_exec_wait(r.e, &io, &x), 0);
    assert_int_equal(x.status, 0);
    assert_true(r.resized);
    assert_non_null(strstr(r.seen, "50 132"));
    sm_agent_exec_free(r.e);
    sm_agent_conn_close(c);
}

/* Closing the connection kills what runs: nothing is left behind. */
static void host_disconnect_kills(void **state)
{
    harness *h = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/survivor", h->dir);
    sm_agent_conn *c = harness_conn(h);
    sm_agent_exec *e;
    char script[256];
    snprintf(script, sizeof script, "sleep 1; touch %s", path);
    assert_int_equal(sm_agent_exec_start(c, &REQ(.argv = ARGV("sh", "-c", script)), &e), 0);
    usleep(200 * 1000);
    sm_agent_exec_free(e);
    sm_agent_conn_close(c);
    usleep(1500 * 1000);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo),
        cmocka_unit_test(exit_status),
        cmocka_unit_test(stdout_and_stderr_apart),
        cmocka_unit_test(environment_cwd_and_user),
        cmocka_unit_test(command_not_found),
        cmocka_unit_test(killed_by_timeout),
        cmocka_unit_test(sigterm_from_host),
        cmocka_unit_test(stdin_from_memory),
        cmocka_unit_test(stdin_from_fd_and_output_to_fd),
        cmocka_unit_test(stream_100_mib),
        cmocka_unit_test(concurrent_32),
        cmocka_unit_test(pty_echo),
        cmocka_unit_test(pty_resize),
        cmocka_unit_test(host_disconnect_kills),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
