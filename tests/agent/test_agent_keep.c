/* Commands that outlive their connection (EXEC with keep) and ATTACH,
 * served by the agent on the host over a Unix socket: the flows a
 * restored VM's worker relies on, and the refusals. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent_harness.h"
#include "supermachine.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define KEEP(...) ((sm_agent_exec_req){.uid = -1, .gid = -1, .keep = true, __VA_ARGS__})

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

static int stop_at_output(void *ctx, const void *data, size_t len)
{
    (void)ctx, (void)data, (void)len;
    return -ECANCELED;
}

/* Start a kept command, wait for its first output (so it runs and its pid
 * is known), then drop the connection. */
static uint32_t start_kept(harness *h, sm_agent_exec_req req)
{
    sm_agent_conn *c = harness_conn(h);
    sm_agent_exec *e;
    assert_int_equal(sm_agent_exec_start(c, &req, &e), 0);
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = stop_at_output;
    sm_agent_exit x;
    assert_int_equal(sm_agent_exec_wait(e, &io, &x), -ECANCELED);
    uint32_t pid = sm_agent_exec_pid(e);
    assert_true(pid > 0);
    sm_agent_exec_free(e);
    sm_agent_conn_close(c);
    return pid;
}

typedef struct attached {
    sm_agent_conn *c;
    sm_agent_exec *e;
    char out[8192];
    size_t len;
    int signo;       /* sent at the first output, if set */
} attached;

static int collect(void *ctx, const void *data, size_t len)
{
    attached *a = ctx;
    size_t n = len < sizeof a->out - 1 - a->len ? len : sizeof a->out - 1 - a->len;
    memcpy(a->out + a->len, data, n);
    a->len += n;
    a->out[a->len] = 0;
    if (a->signo) {
        int signo = a->signo;
        a->signo = 0;
        return sm_agent_exec_signal(a->e, signo, true);
    }
    return 0;
}

static int attach(harness *h, uint32_t pid, attached *a)
{
    memset(a, 0, sizeof *a);
    a->c = harness_conn(h);
    int err = sm_agent_exec_attach(a->c, pid, &a->e);
    if (err)
        sm_agent_conn_close(a->c);
    return err;
}

static sm_agent_exit wait_attached(attached *a)
{
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = collect;
    io.on_stderr = collect;
    io.ctx = a;
    sm_agent_exit x;
    if (sm_agent_exec_wait(a->e, &io, &x) != 0)
        fail_msg("wait on an attached command: %s", sm_last_error());
    sm_agent_exec_free(a->e);
    sm_agent_conn_close(a->c);
    return x;
}

static long lines_of(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    for (int ch; f && (ch = fgetc(f)) != EOF;)
        n += ch == '\n';
    if (f)
        fclose(f);
    return n;
}

/* The whole story: it runs on without a connection (the file grows),
 * ATTACH gets its later output, a signal through the attached stream ends
 * it, and its status comes back. */
static void survives_and_attaches(void **state)
{
    harness *h = *state;
    char file[128], script[512];
    snprintf(file, sizeof file, "%s/ticks", h->dir);
    snprintf(script, sizeof script,
             "echo start; i=0; while :; do i=$((i+1)); echo tick $i; echo err $i >&2; "
             "echo $i >> %s; sleep 0.05; done", file);
    uint32_t pid = start_kept(h, KEEP(.argv = ARGV("sh", "-c", script)));
    usleep(300 * 1000);
    long n1 = lines_of(file);
    usleep(300 * 1000);
    long n2 = lines_of(file);
    assert_true(n1 > 0 && n2 > n1);
    attached a;
    assert_int_equal(attach(h, pid, &a), 0);
    assert_int_equal(sm_agent_exec_pid(a.e), pid);
    a.signo = SIGTERM;
    sm_agent_exit x = wait_attached(&a);
    assert_int_equal(x.termsig, SIGTERM);
    assert_int_equal(x.status, -1);
    /* What came is later output, never the line from before the detach. */
    assert_null(strstr(a.out, "start"));
    long first = 0;
    const char *t = strstr(a.out, "tick ");
    if (t)
        first = atol(t + 5);
    else if ((t = strstr(a.out, "err ")))
        first = atol(t + 4);
    assert_true(first >= n1);
    /* Collected: the record is gone. */
    assert_int_equal(attach(h, pid, &a), -ESRCH);
}

static void attach_after_end_gives_status(void **state)
{
    harness *h = *state;
    uint32_t pid = start_kept(h, KEEP(.argv = ARGV("sh", "-c", "echo go; sleep 0.2; exit 7")));
    usleep(700 * 1000);
    attached a;
    assert_int_equal(attach(h, pid, &a), 0);
    sm_agent_exit x = wait_attached(&a);
    assert_int_equal(x.status, 7);
    assert_int_equal(x.termsig, 0);
    assert_int_equal(a.len, 0);
    assert_int_equal(attach(h, pid, &a), -ESRCH);
}

/* Its stdin ends with its connection: a command reading it sees EOF. */
static void stdin_ends_with_the_connection(void **state)
{
    harness *h = *state;
    uint32_t pid = start_kept(h, KEEP(.argv = ARGV("sh", "-c", "echo go; read x; exit 3"),
                                      .stdin_pipe = true));
    usleep(500 * 1000);
    attached a;
    assert_int_equal(attach(h, pid, &a), 0);
    assert_int_equal(wait_attached(&a).status, 3);
}

static void unknown_pid_is_esrch_and_conn_stays_usable(void **state)
{
    harness *h = *state;
    sm_agent_conn *c = harness_conn(h);
    sm_agent_exec *e;
    assert_int_equal(sm_agent_exec_attach(c, 999999, &e), -ESRCH);
    assert_non_null(strstr(sm_last_error(), "no kept process with pid 999999"));
    assert_int_equal(sm_agent_exec_attach(c, 0, &e), -EINVAL);
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(c, "/", false, &st), 0);
    sm_agent_conn_close(c);
}

/* Only kept commands can be attached to, and only one connection at a
 * time; a command without keep still dies with its connection. */
static void busy_and_not_kept(void **state)
{
    harness *h = *state;
    sm_agent_conn *c = harness_conn(h);
    sm_agent_exec *e;
    assert_int_equal(sm_agent_exec_start(c, &KEEP(.argv = ARGV("sh", "-c", "echo go; exec sleep 30")), &e), 0);
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = stop_at_output;
    sm_agent_exit x;
    assert_int_equal(sm_agent_exec_wait(e, &io, &x), -ECANCELED);
    uint32_t pid = sm_agent_exec_pid(e);
    attached a;
    assert_int_equal(attach(h, pid, &a), -EBUSY);
    assert_non_null(strstr(sm_last_error(), "another connection"));
    sm_agent_exec_free(e);
    sm_agent_conn_close(c);
    /* Once that connection is gone the command is free. */
    usleep(100 * 1000);
    assert_int_equal(attach(h, pid, &a), 0);
    a.signo = 0;
    assert_int_equal(sm_agent_exec_signal(a.e, SIGKILL, true), 0);
    assert_int_equal(wait_attached(&a).termsig, SIGKILL);

    char file[128], script[256];
    snprintf(file, sizeof file, "%s/not-kept", h->dir);
    snprintf(script, sizeof script, "echo go; sleep 1; touch %s", file);
    c = harness_conn(h);
    sm_agent_exec_req plain = {.argv = ARGV("sh", "-c", script), .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_exec_start(c, &plain, &e), 0);
    assert_int_equal(sm_agent_exec_wait(e, &io, &x), -ECANCELED);
    pid = sm_agent_exec_pid(e);
    assert_int_equal(attach(h, pid, &a), -ESRCH);
    sm_agent_exec_free(e);
    sm_agent_conn_close(c);
    usleep(1500 * 1000);
    assert_int_equal(access(file, F_OK), -1);
}

/* A command that writes much more than a pipe holds after its connection
 * went must not block: the agent reads and drops its output. */
static void chatty_command_never_blocks(void **state)
{
    harness *h = *state;
    char file[128], script[256];
    snprintf(file, sizeof file, "%s/done", h->dir);
    snprintf(script, sizeof script,
             "echo go; sleep 0.2; head -c 20000000 /dev/zero; head -c 5000000 /dev/zero >&2; "
             "touch %s; exit 5", file);
    uint32_t pid = start_kept(h, KEEP(.argv = ARGV("sh", "-c", script)));
    for (int i = 0; i < 200 && access(file, F_OK) != 0; i++)
        usleep(50 * 1000);
    assert_int_equal(access(file, F_OK), 0);
    attached a;
    assert_int_equal(attach(h, pid, &a), 0);
    assert_int_equal(wait_attached(&a).status, 5);
}

/* A kept command's timeout holds without a connection too. */
static void timeout_holds_while_detached(void **state)
{
    harness *h = *state;
    uint32_t pid = start_kept(h, KEEP(.argv = ARGV("sh", "-c", "echo go; exec sleep 30"),
                                      .timeout_ms = 300));
    usleep(800 * 1000);
    attached a;
    assert_int_equal(attach(h, pid, &a), 0);
    sm_agent_exit x = wait_attached(&a);
    assert_true(x.timed_out);
    assert_int_equal(x.termsig, SIGKILL);
}

/* Past SM_AGENT_KEPT_MAX ended records the oldest go. */
static void ended_records_are_bounded(void **state)
{
    harness *h = *state;
    enum { N = SM_AGENT_KEPT_MAX + 6 };
    uint32_t pids[N];
    for (int i = 0; i < N; i++) {
        pids[i] = start_kept(h, KEEP(.argv = ARGV("sh", "-c", "echo go; read x; exit 4"),
                                     .stdin_pipe = true));
        usleep(10 * 1000);
    }
    usleep(1000 * 1000);
    int gone = 0, kept = 0;
    for (int i = 0; i < N; i++) {
        attached a;
        int err = attach(h, pids[i], &a);
        if (err == -ESRCH) {
            gone++;
            assert_true(i < N - SM_AGENT_KEPT_MAX);
            continue;
        }
        assert_int_equal(err, 0);
        assert_int_equal(wait_attached(&a).status, 4);
        kept++;
    }
    assert_int_equal(gone, N - SM_AGENT_KEPT_MAX);
    assert_int_equal(kept, SM_AGENT_KEPT_MAX);
}

/* ---- malformed ATTACH on a raw socket ---- */

/* Send bytes, read all the agent sends until it closes (at most 5 s). */
static size_t exchange(harness *h, const void *req, size_t len, uint8_t *buf, size_t cap)
{
    int fd = harness_socket(h);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    size_t got = 0;
    ssize_t n;
    while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
        got += (size_t)n;
    close(fd);
    return got;
}

/* The errno of the ERROR among the frames in buf (0 if none). */
static int error_in(const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    for (;;) {
        sm_agent_frame f;
        size_t need;
        const char *why;
        int n = sm_agent_frame_parse(buf + pos, len - pos, &f, &need, &why);
        if (n <= 0)
            return 0;
        sm_agent_error e;
        if (f.type == SM_AGENT_ERROR && sm_agent_decode_error(&f, &e, &why) == 0)
            return e.err;
        pos += (size_t)n;
    }
}

static void garbage_attach_is_refused(void **state)
{
    harness *h = *state;
    uint8_t req[256], reply[4096];
    sm_agent_wbuf b = {.data = req, .cap = sizeof req};
    const uint8_t pid_zero[] = {SM_AGENT_T_PID, 0, 4, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t pid_short[] = {SM_AGENT_T_PID, 0, 2, 0, 0, 0, 7, 0};
    const uint8_t overrun[] = {SM_AGENT_T_PID, 0, 200, 0, 0, 0, 7, 0, 0, 0};
    struct { const void *p; size_t n; uint16_t flags; } cases[] = {
        {"", 0, 0}, {pid_zero, sizeof pid_zero, 0}, {pid_short, sizeof pid_short, 0},
        {overrun, sizeof overrun, 0}, {"", 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        b.len = b.frame_start = 0;
        assert_int_equal(sm_agent_encode_hello(&b, &(sm_agent_hello){SM_AGENT_VERSION}), 0);
        sm_agent_frame_begin(&b, SM_AGENT_ATTACH, cases[i].flags);
        sm_agent_put_raw(&b, cases[i].p, cases[i].n);
        assert_int_equal(sm_agent_frame_end(&b), 0);
        size_t n = exchange(h, b.data, b.len, reply, sizeof reply);
        assert_int_equal(error_in(reply, n), EBADMSG);
    }
    /* Before HELLO. */
    b.len = b.frame_start = 0;
    assert_int_equal(sm_agent_encode_attach(&b, 1), 0);
    size_t n = exchange(h, b.data, b.len, reply, sizeof reply);
    assert_int_equal(error_in(reply, n), EPROTO);
    /* The agent serves on. */
    sm_agent_conn *c = harness_conn(h);
    sm_agent_output o;
    sm_agent_exit x;
    sm_agent_exec_req req2 = {.argv = ARGV("echo", "alive"), .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_exec_run(c, &req2, NULL, 0, 1024, &o, &x), 0);
    assert_string_equal(o.out, "alive\n");
    sm_agent_output_free(&o);
    sm_agent_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(survives_and_attaches),
        cmocka_unit_test(attach_after_end_gives_status),
        cmocka_unit_test(stdin_ends_with_the_connection),
        cmocka_unit_test(unknown_pid_is_esrch_and_conn_stays_usable),
        cmocka_unit_test(busy_and_not_kept),
        cmocka_unit_test(chatty_command_never_blocks),
        cmocka_unit_test(timeout_holds_while_detached),
        cmocka_unit_test(ended_records_are_bounded),
        cmocka_unit_test(garbage_attach_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
