/*
 * Processes that outlive their agent connection (EXEC with keep) and
 * ATTACH, in a real VM booted once for the group from the built-in
 * initramfs: what a VM restored from a snapshot of a running server relies
 * on (its old connections die; the server must not), and the detached
 * VM's supervisor that starts its main process that way and records its
 * pid for the restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/client.h"
#include "lib/vm_log.h"
#include "lib/vm_registry.h"
#include "worker/control.h"
#include "supermachine.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define KEEP(...) ((sm_agent_exec_req){.uid = -1, .gid = -1, .keep = true, __VA_ARGS__})

typedef struct fixture {
    sm_vm *vm;
    char id[65];
    uint32_t loop_pid;    /* the kept loop, once started */
} fixture;

static fixture fx;

static int setup(void **state)
{
    /* Detached, so that the last case can start a supervised main process. */
    sm_vm_config c = {.size = sizeof c, .detached = 1, .start_timeout_ms = 600000};
    if (sm_vm_start(NULL, &c, &fx.vm) != 0) {
        fprintf(stderr, "sm_vm_start: %s\n", sm_last_error());
        return -1;
    }
    snprintf(fx.id, sizeof fx.id, "%s", sm_vm_id(fx.vm));
    *state = &fx;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (!fx.vm)
        return 0;
    sm_vm_stop(fx.vm);
    sm_vm_remove(fx.id, 1);
    return 0;
}

static sm_agent_conn *agent(void)
{
    int fd;
    sm_agent_conn *c;
    if (sm_vm_connect_vsock(fx.vm, SM_AGENT_PORT, &fd) != 0)
        fail_msg("cannot reach the agent: %s", sm_last_error());
    if (sm_agent_conn_open(fd, &c) != 0)
        fail_msg("sm_agent_conn_open: %s", sm_last_error());
    return c;
}

static int stop_at_output(void *ctx, const void *data, size_t len)
{
    (void)ctx, (void)data, (void)len;
    return -ECANCELED;
}

/* Start a command, wait for its first output (it runs; its pid is known),
 * then close the connection. */
static uint32_t start_then_close(sm_agent_exec_req req)
{
    sm_agent_conn *c = agent();
    sm_agent_exec *e;
    assert_int_equal(sm_agent_exec_start(c, &req, &e), 0);
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    io.on_stdout = stop_at_output;
    sm_agent_exit x;
    assert_int_equal(sm_agent_exec_wait(e, &io, &x), -ECANCELED);
    uint32_t pid = sm_agent_exec_pid(e);
    assert_true(pid > 1);
    sm_agent_exec_free(e);
    sm_agent_conn_close(c);
    /* The VMM tells the guest of a host's close with its next receive
     * work (a new connection is some): without it the agent could learn
     * of this close only once the command ends. */
    c = agent();
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(c, "/", false, &st), 0);
    sm_agent_conn_close(c);
    return pid;
}

/* Lines of a guest file, read by the agent (no process started). */
static long guest_lines(const char *path)
{
    sm_agent_conn *c = agent();
    uint8_t *data = NULL;
    size_t len = 0;
    int err = sm_agent_read_file_buf(c, path, 1 << 20, &data, &len);
    sm_agent_conn_close(c);
    if (err == -ENOENT)
        return 0;
    assert_int_equal(err, 0);
    long n = 0;
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    free(data);
    return n;
}

typedef struct attached {
    sm_agent_conn *c;
    sm_agent_exec *e;
    char out[8192];
    size_t len;
    int signo;  /* sent to the process group at the first output */
} attached;

static int collect(void *ctx, const void *data, size_t len)
{
    attached *a = ctx;
    size_t n = len < sizeof a->out - 1 - a->len ? len : sizeof a->out - 1 - a->len;
    memcpy(a->out + a->len, data, n);
    a->len += n;
    a->out[a->len] = 0;
    int signo = a->signo;
    a->signo = 0;
    return signo ? sm_agent_exec_signal(a->e, signo, true) : 0;
}

static int attach(uint32_t pid, attached *a)
{
    memset(a, 0, sizeof *a);
    a->c = agent();
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
        fail_msg("wait on an attached process: %s", sm_last_error());
    sm_agent_exec_free(a->e);
    sm_agent_conn_close(a->c);
    return x;
}

/* A shell loop started with keep goes on after its connection closed:
 * the file it appends to keeps growing. */
static void kept_loop_survives_its_connection(void **state)
{
    fixture *f = *state;
    f->loop_pid = start_then_close(
        KEEP(.argv = ARGV("sh", "-c", "echo go; i=0; while :; do i=$((i+1)); echo tick $i; "
                                      "echo $i >> /tmp/ticks; sleep 0.3; done")));
    sleep(1);
    long n1 = guest_lines("/tmp/ticks");
    sleep(2);
    long n2 = guest_lines("/tmp/ticks");
    assert_true(n1 >= 1);
    assert_true(n2 > n1);
}

/* ATTACH gets its output from then on, a SIGNAL through the attached
 * stream ends it, and its exit status comes back. */
static void attach_signal_and_exit_status(void **state)
{
    fixture *f = *state;
    assert_true(f->loop_pid > 1);
    long before = guest_lines("/tmp/ticks");
    attached a;
    assert_int_equal(attach(f->loop_pid, &a), 0);
    assert_int_equal(sm_agent_exec_pid(a.e), f->loop_pid);
    a.signo = SIGTERM;
    sm_agent_exit x = wait_attached(&a);
    assert_int_equal(x.termsig, SIGTERM);  /* the worker reports 128 + 15 */
    assert_int_equal(x.status, -1);
    const char *t = strstr(a.out, "tick ");
    assert_non_null(t);
    assert_true(atol(t + 5) >= before);
    assert_null(strstr(a.out, "go\n"));
    /* Its status was collected: nothing is left to attach to. */
    assert_int_equal(attach(f->loop_pid, &a), -ESRCH);
}

/* It ends after its connection closed (its stdin ends with it); later
 * an ATTACH still gets its status. */
static void attach_after_the_end_gives_its_status(void **state)
{
    (void)state;
    uint32_t pid = start_then_close(KEEP(.argv = ARGV("sh", "-c", "echo go; read x; exit 7"),
                                         .stdin_pipe = true));
    sleep(2);
    attached a;
    assert_int_equal(attach(pid, &a), 0);
    sm_agent_exit x = wait_attached(&a);
    assert_int_equal(x.status, 7);
    assert_int_equal(x.termsig, 0);
}

static void unknown_pid_is_esrch(void **state)
{
    (void)state;
    sm_agent_conn *c = agent();
    sm_agent_exec *e;
    assert_int_equal(sm_agent_exec_attach(c, 99999, &e), -ESRCH);
    assert_non_null(strstr(sm_last_error(), "no kept process with pid 99999"));
    /* The connection is still good for another request. */
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(c, "/tmp", false, &st), 0);
    sm_agent_conn_close(c);
}

/* Without keep, closing the connection still kills the command, and it
 * cannot be attached to. */
static void without_keep_the_command_dies(void **state)
{
    (void)state;
    sm_agent_exec_req req = {.argv = ARGV("sh", "-c", "echo go; sleep 2; echo x > /tmp/survivor"),
                             .uid = -1, .gid = -1};
    uint32_t pid = start_then_close(req);
    attached a;
    assert_int_equal(attach(pid, &a), -ESRCH);
    sleep(4);
    sm_agent_conn *c = agent();
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(c, "/tmp/survivor", false, &st), -ENOENT);
    sm_agent_conn_close(c);
}

/* Send raw bytes, read what the agent sends until it closes. */
static size_t exchange(const void *req, size_t len, uint8_t *buf, size_t cap)
{
    int fd;
    assert_int_equal(sm_vm_connect_vsock(fx.vm, SM_AGENT_PORT, &fd), 0);
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    size_t got = 0;
    ssize_t n;
    while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
        got += (size_t)n;
    close(fd);
    return got;
}

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
    (void)state;
    uint8_t req[128], reply[4096];
    const uint8_t pid_zero[] = {SM_AGENT_T_PID, 0, 4, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t overrun[] = {SM_AGENT_T_PID, 0, 200, 0, 0, 0, 7, 0, 0, 0};
    struct { const void *p; size_t n; uint16_t flags; } cases[] = {
        {"", 0, 0}, {pid_zero, sizeof pid_zero, 0}, {overrun, sizeof overrun, 0}, {"", 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sm_agent_wbuf b = {.data = req, .cap = sizeof req};
        assert_int_equal(sm_agent_encode_hello(&b, &(sm_agent_hello){SM_AGENT_VERSION}), 0);
        sm_agent_frame_begin(&b, SM_AGENT_ATTACH, cases[i].flags);
        sm_agent_put_raw(&b, cases[i].p, cases[i].n);
        assert_int_equal(sm_agent_frame_end(&b), 0);
        assert_int_equal(error_in(reply, exchange(b.data, b.len, reply, sizeof reply)), EBADMSG);
    }
    /* The agent serves on. */
    sm_agent_conn *c = agent();
    sm_agent_output o;
    sm_agent_exit x;
    sm_agent_exec_req echo = {.argv = ARGV("echo", "alive"), .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_exec_run(c, &echo, NULL, 0, 1024, &o, &x), 0);
    assert_string_equal(o.out, "alive\n");
    sm_agent_output_free(&o);
    sm_agent_conn_close(c);
}

static bool file_has(const char *path, const char *text)
{
    char buf[65536];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
    if (fd >= 0)
        close(fd);
    return n > 0 && memmem(buf, (size_t)n, text, strlen(text));
}

/* What a restored VM's worker does: a supervisor attaches to a kept
 * process it did not start, logs its output from then on, and records
 * its exit status. Here over a directory of its own that reaches the same
 * guest (its vsock.sock is the VM's). */
static void supervisor_attaches_to_a_kept_process(void **state)
{
    fixture *f = *state;
    char dir[] = "/tmp/sm-keep-XXXXXX", link[128], sock[4200], log[128];
    assert_non_null(mkdtemp(dir));
    snprintf(link, sizeof link, "%s/vsock.sock", dir);
    snprintf(sock, sizeof sock, "%s/vsock.sock", sm_vm_dir(f->vm));
    assert_int_equal(symlink(sock, link), 0);
    snprintf(log, sizeof log, "%s/" SM_VM_LOG_NAME, dir);
    uint32_t pid = start_then_close(
        KEEP(.argv = ARGV("sh", "-c", "echo go; while :; do echo tick; sleep 0.3; done")));
    sm_worker_control *wc;
    assert_int_equal(sm_worker_control_start(dir, NULL, NULL, &wc), 0);
    assert_int_equal(sm_worker_control_attach_main(wc, 99999), -ESRCH);
    assert_int_equal(sm_worker_control_attach_main(wc, pid), 0);
    assert_int_equal(sm_worker_control_attach_main(wc, pid), -EBUSY);
    for (int i = 0; i < 100 && !file_has(log, "tick"); i++)
        usleep(100 * 1000);
    assert_true(file_has(log, "tick"));
    assert_false(file_has(log, "go"));
    char line[64];
    snprintf(line, sizeof line, "kill %u", pid);
    sm_agent_conn *c = agent();
    sm_agent_output o;
    sm_agent_exit x;
    sm_agent_exec_req kill_it = {.argv = ARGV("sh", "-c", line), .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_exec_run(c, &kill_it, NULL, 0, 1024, &o, &x), 0);
    sm_agent_output_free(&o);
    sm_agent_conn_close(c);
    for (int i = 0; i < 100 && sm_vm_exit_read(dir) < 0; i++)
        usleep(100 * 1000);
    assert_int_equal(sm_vm_exit_read(dir), 128 + SIGTERM);
    sm_worker_control_stop(wc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The worker's supervisor starts a detached VM's main process with keep
 * and records its pid in <dir>/main.pid for a restore to attach to; while
 * the supervisor is attached, nobody else is. */
static void supervised_main_process_is_kept(void **state)
{
    fixture *f = *state;
    sm_exec ex = {.size = sizeof ex, .argv = (const char *[]){"sh", "-c", "exec sleep 600", NULL}};
    if (sm_vm_start_main(f->vm, &ex) != 0)
        fail_msg("sm_vm_start_main: %s", sm_last_error());
    char path[4200], text[32] = "";
    snprintf(path, sizeof path, "%s/main.pid", sm_vm_dir(f->vm));
    for (int i = 0; i < 300 && access(path, F_OK) != 0; i++)
        usleep(100 * 1000);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    assert_true(n > 1 && text[n - 1] == '\n');
    uint32_t pid = (uint32_t)atol(text);
    assert_true(pid > 1);
    attached a;
    assert_int_equal(attach(pid, &a), -EBUSY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kept_loop_survives_its_connection),
        cmocka_unit_test(attach_signal_and_exit_status),
        cmocka_unit_test(attach_after_the_end_gives_its_status),
        cmocka_unit_test(unknown_pid_is_esrch),
        cmocka_unit_test(without_keep_the_command_dies),
        cmocka_unit_test(garbage_attach_is_refused),
        cmocka_unit_test(supervisor_attaches_to_a_kept_process),
        cmocka_unit_test(supervised_main_process_is_kept),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
