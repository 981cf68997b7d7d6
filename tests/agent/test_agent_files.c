/* The agent's file operations and its handling of broken connections,
 * served on the host over a Unix socket. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent_harness.h"
#include "supermachine.h"

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

static char *path_in(harness *h, const char *name, char path[static 256])
{
    snprintf(path, 256, "%s/%s", h->dir, name);
    return path;
}
#define path_in(h, name) path_in(h, name, (char[256]){0})

static void write_and_read_10_mib(void **state)
{
    harness *h = *state;
    const size_t size = 10u << 20;
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    char *path = path_in(h, "big.bin");
    sm_agent_conn *c = harness_conn(h);
    int err = sm_agent_write_file(c, &(sm_agent_file_req){.path = path, .mode = 0600, .uid = -1,
                                                          .gid = -1}, data, size);
    if (err)
        fail_msg("write: %s", sm_last_error());
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(c, path, false, &st), 0);
    assert_int_equal(st.size, size);
    assert_int_equal(st.mode, 0100600);
    uint8_t *back;
    size_t len;
    assert_int_equal(sm_agent_read_file_buf(c, path, size, &back, &len), 0);
    assert_int_equal(len, size);
    assert_memory_equal(back, data, size);
    free(back);
    /* One byte too small a limit is an error, not a truncation. */
    sm_agent_conn_close(c);
    c = harness_conn(h);
    assert_int_equal(sm_agent_read_file_buf(c, path, size - 1, &back, &len), -EFBIG);
    sm_agent_conn_close(c);
    free(data);
}

static void read_missing_file(void **state)
{
    harness *h = *state;
    sm_agent_conn *c = harness_conn(h);
    uint8_t *data;
    size_t len;
    char *path = path_in(h, "no-such-file");
    assert_int_equal(sm_agent_read_file_buf(c, path, 1024, &data, &len), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "no-such-file"));
    assert_int_equal(sm_agent_stat(c, path, false, &(sm_agent_stat_reply){0}), -ENOENT);
    /* The connection is still good. */
    assert_int_equal(sm_agent_read_file_buf(c, "/etc/hostname", 1 << 20, &data, &len) == 0 ||
                         access("/etc/hostname", R_OK) != 0, 1);
    if (access("/etc/hostname", R_OK) == 0)
        free(data);
    sm_agent_conn_close(c);
}

/* A directory reads as its entries' names, a line each ("." and ".."
 * left out): what `top` lists /proc with. */
static void read_directory_lists_it(void **state)
{
    harness *h = *state;
    sm_agent_conn *c = harness_conn(h);
    char *dir = path_in(h, "listed");
    assert_int_equal(mkdir(dir, 0755), 0);
    for (int i = 0; i < 2; i++) {
        char *f = path_in(h, i ? "listed/two" : "listed/one");
        FILE *fp = fopen(f, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    uint8_t *data;
    size_t len;
    assert_int_equal(sm_agent_read_file_buf(c, dir, 1024, &data, &len), 0);
    assert_true((len == 8 && !memcmp(data, "one\ntwo\n", 8)) ||
                (len == 8 && !memcmp(data, "two\none\n", 8)));
    free(data);
    sm_agent_conn_close(c);
}

static void write_modes_and_parents(void **state)
{
    harness *h = *state;
    sm_agent_conn *c = harness_conn(h);
    char *path = path_in(h, "a/b/c/script.sh");
    sm_agent_file_req req = {.path = path, .mode = 0755, .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_write_file(c, &req, "#!/bin/sh\n", 10), -ENOENT);
    req.mkdirs = true;
    assert_int_equal(sm_agent_write_file(c, &req, "#!/bin/sh\n", 10), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    /* Replace, empty. */
    assert_int_equal(sm_agent_write_file(c, &req, "", 0), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    /* Lstat of a symlink. */
    char *link = path_in(h, "link");
    assert_int_equal(symlink("a", link), 0);
    sm_agent_stat_reply sr;
    assert_int_equal(sm_agent_stat(c, link, true, &sr), 0);
    assert_true(S_ISLNK(sr.mode));
    assert_int_equal(sm_agent_stat(c, link, false, &sr), 0);
    assert_true(S_ISDIR(sr.mode));
    sm_agent_conn_close(c);
}

static void write_from_fd(void **state)
{
    harness *h = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "from a pipe", 11), 11);
    close(p[1]);
    sm_agent_conn *c = harness_conn(h);
    char *path = path_in(h, "piped");
    assert_int_equal(sm_agent_write_file_fd(c, &(sm_agent_file_req){.path = path, .uid = -1,
                                                                   .gid = -1}, p[0]), 0);
    close(p[0]);
    uint8_t *data;
    size_t len;
    assert_int_equal(sm_agent_read_file_buf(c, path, 100, &data, &len), 0);
    assert_string_equal((char *)data, "from a pipe");
    free(data);
    sm_agent_conn_close(c);
}

/* Stage a file, then run a command that uses it, on one connection. */
static void stage_then_exec(void **state)
{
    harness *h = *state;
    sm_agent_conn *c = harness_conn(h);
    char *path = path_in(h, "staged/run.sh");
    assert_int_equal(sm_agent_write_file(c, &(sm_agent_file_req){.path = path, .mode = 0755,
                                                                 .mkdirs = true, .uid = -1,
                                                                 .gid = -1},
                                         "#!/bin/sh\necho staged $1\n", 25), 0);
    sm_agent_output o;
    sm_agent_exit x;
    sm_agent_exec_req req = {.argv = (const char *const[]){path, "ok", NULL}, .uid = -1, .gid = -1};
    assert_int_equal(sm_agent_exec_run(c, &req, NULL, 0, 4096, &o, &x), 0);
    assert_int_equal(x.status, 0);
    assert_string_equal(o.out, "staged ok\n");
    sm_agent_output_free(&o);
    /* An exec ends the conversation. */
    assert_int_equal(sm_agent_stat(c, path, false, &(sm_agent_stat_reply){0}), -EINVAL);
    sm_agent_conn_close(c);
}

/* ---- broken peers ---- */

/* Send raw bytes; return the error the agent answers with (0 if none) and
 * whether it then closed. */
static int send_garbage(harness *h, const void *bytes, size_t len, bool *closed)
{
    int fd = harness_socket(h);
    assert_int_equal(write(fd, bytes, len), (ssize_t)len);
    uint8_t buf[4096];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    *closed = true;
    close(fd);
    /* Expect at most the agent's HELLO, then an ERROR. */
    size_t pos = 0;
    int err = 0;
    while (pos < got) {
        sm_agent_frame f;
        size_t need;
        const char *why;
        int n = sm_agent_frame_parse(buf + pos, got - pos, &f, &need, &why);
        assert_true(n > 0);
        if (f.type == SM_AGENT_ERROR) {
            sm_agent_error e;
            assert_int_equal(sm_agent_decode_error(&f, &e, &why), 0);
            err = e.err;
        }
        pos += (size_t)n;
    }
    return err;
}

static size_t hello(uint8_t *buf)
{
    sm_agent_wbuf b = {.data = buf, .cap = 64};
    sm_agent_encode_hello(&b, &(sm_agent_hello){SM_AGENT_VERSION});
    return b.len;
}

static void agent_still_serves(harness *h)
{
    sm_agent_conn *c = harness_conn(h);
    sm_agent_output o;
    sm_agent_exit x;
    sm_agent_exec_req req = {.argv = (const char *const[]){"echo", "alive", NULL}, .uid = -1,
                             .gid = -1};
    assert_int_equal(sm_agent_exec_run(c, &req, NULL, 0, 4096, &o, &x), 0);
    assert_string_equal(o.out, "alive\n");
    sm_agent_output_free(&o);
    sm_agent_conn_close(c);
}

static void garbage_closes_only_that_connection(void **state)
{
    harness *h = *state;
    bool closed;
    /* Hold a healthy connection open across the bad ones. */
    sm_agent_conn *good = harness_conn(h);

    uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0, 0};
    assert_int_equal(send_garbage(h, junk, sizeof junk, &closed), EBADMSG);

    uint8_t buf[128];
    size_t n = hello(buf);
    const uint8_t oversize[] = {0xff, 0xff, 0xff, 0x7f, SM_AGENT_STDIN, 0, 0, 0};
    memcpy(buf + n, oversize, sizeof oversize);
    assert_int_equal(send_garbage(h, buf, n + sizeof oversize, &closed), EMSGSIZE);

    /* A request before HELLO, and a wrong version. */
    sm_agent_wbuf b = {.data = buf, .cap = sizeof buf};
    sm_agent_encode_file_req(&b, SM_AGENT_STAT, &(sm_agent_file_req){.path = "/"});
    assert_int_equal(send_garbage(h, buf, b.len, &closed), EPROTO);
    b.len = 0;
    sm_agent_encode_hello(&b, &(sm_agent_hello){99});
    assert_int_equal(send_garbage(h, buf, b.len, &closed), EPROTONOSUPPORT);

    /* An EXEC whose TLV overruns its frame. */
    n = hello(buf);
    const uint8_t bad_tlv[] = {10, 0, 0, 0, SM_AGENT_EXEC, 0, 0, 0,
                               SM_AGENT_T_ARG, 0, 100, 0, 0, 0, 's', 'h', 0, 0};
    memcpy(buf + n, bad_tlv, sizeof bad_tlv);
    assert_int_equal(send_garbage(h, buf, n + sizeof bad_tlv, &closed), EBADMSG);

    /* STDIN for a command without stdin. */
    b.len = 0;
    sm_agent_encode_hello(&b, &(sm_agent_hello){SM_AGENT_VERSION});
    sm_agent_encode_exec(&b, &(sm_agent_exec_req){.argv = (const char *const[]){"sleep", "5", NULL},
                                                  .uid = -1, .gid = -1});
    sm_agent_encode_data(&b, SM_AGENT_STDIN, "x", 1, false);
    assert_int_equal(send_garbage(h, buf, b.len, &closed), EPROTO);

    /* Half a frame, then the host goes away. */
    int fd = harness_socket(h);
    assert_int_equal(write(fd, buf, 5), 5);
    close(fd);

    agent_still_serves(h);
    sm_agent_stat_reply st;
    assert_int_equal(sm_agent_stat(good, "/", false, &st), 0);
    sm_agent_conn_close(good);
}

/* A file being written when the host vanishes leaves no temporary behind. */
static void abandoned_write_cleans_up(void **state)
{
    harness *h = *state;
    uint8_t buf[256];
    sm_agent_wbuf b = {.data = buf, .cap = sizeof buf};
    char *dir = path_in(h, "abandon");
    mkdir(dir, 0755);
    char target[200];
    snprintf(target, sizeof target, "%s/file", dir);
    sm_agent_encode_hello(&b, &(sm_agent_hello){SM_AGENT_VERSION});
    sm_agent_encode_file_req(&b, SM_AGENT_FILE_WRITE, &(sm_agent_file_req){.path = target,
                                                                          .uid = -1, .gid = -1});
    sm_agent_encode_data(&b, SM_AGENT_FILE_DATA, "partial", 7, false);
    int fd = harness_socket(h);
    assert_int_equal(write(fd, buf, b.len), (ssize_t)b.len);
    usleep(100 * 1000);
    close(fd);
    agent_still_serves(h);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_and_read_10_mib),
        cmocka_unit_test(read_missing_file),
        cmocka_unit_test(read_directory_lists_it),
        cmocka_unit_test(write_modes_and_parents),
        cmocka_unit_test(write_from_fd),
        cmocka_unit_test(stage_then_exec),
        cmocka_unit_test(garbage_closes_only_that_connection),
        cmocka_unit_test(abandoned_write_cleans_up),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
