/* The agent protocol's framing and messages: round trips and every way a
 * frame can be malformed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/protocol.h"

typedef struct enc {
    sm_agent_wbuf b;
    sm_agent_frame f;
} enc;

static void enc_init(enc *e)
{
    memset(e, 0, sizeof *e);
    e->b.grow = true;
}

/* Parse the one frame in the buffer. */
static void parse_one(enc *e)
{
    size_t need = 0;
    const char *why = NULL;
    int n = sm_agent_frame_parse(e->b.data, e->b.len, &e->f, &need, &why);
    assert_int_equal(n, (int)e->b.len);
}

static void hello_round_trip(void **state)
{
    (void)state;
    enc e;
    enc_init(&e);
    assert_int_equal(sm_agent_encode_hello(&e.b, &(sm_agent_hello){7}), 0);
    parse_one(&e);
    sm_agent_hello h;
    const char *why;
    assert_int_equal(sm_agent_decode_hello(&e.f, &h, &why), 0);
    assert_int_equal(h.version, 7);
    /* Header: little-endian length, type, flags. */
    assert_int_equal(e.b.data[0], 10);
    assert_int_equal(e.b.data[4], SM_AGENT_HELLO);
    sm_agent_wbuf_free(&e.b);
}

static void exec_round_trip(void **state)
{
    (void)state;
    const char *argv[] = {"sh", "-c", "echo hi", NULL};
    const char *env[] = {"A=1", "B=", NULL};
    const uint32_t groups[] = {10, 20, 30};
    sm_agent_exec_req in = {.argv = argv, .env = env, .cwd = "/tmp", .uid = 1000, .gid = -1,
                            .groups = groups, .ngroups = 3, .has_groups = true,
                            .timeout_ms = 1500, .stdin_pipe = true, .pty = true,
                            .keep = true, .rows = 50, .cols = 132};
    enc e;
    enc_init(&e);
    assert_int_equal(sm_agent_encode_exec(&e.b, &in), 0);
    parse_one(&e);
    sm_agent_exec_req out;
    const char *why;
    assert_int_equal(sm_agent_decode_exec(&e.f, &out, &why), 0);
    for (int i = 0; i < 3; i++)
        assert_string_equal(out.argv[i], argv[i]);
    assert_null(out.argv[3]);
    assert_string_equal(out.env[0], "A=1");
    assert_string_equal(out.env[1], "B=");
    assert_null(out.env[2]);
    assert_string_equal(out.cwd, "/tmp");
    assert_int_equal(out.uid, 1000);
    assert_int_equal(out.gid, -1);
    assert_true(out.has_groups);
    assert_int_equal(out.ngroups, 3);
    assert_int_equal(out.groups[2], 30);
    assert_int_equal(out.timeout_ms, 1500);
    assert_true(out.stdin_pipe && out.pty && out.keep);
    assert_int_equal(e.f.flags, SM_AGENT_F_STDIN | SM_AGENT_F_PTY | SM_AGENT_F_KEEP);
    assert_int_equal(SM_AGENT_F_KEEP, 0x8);
    assert_int_equal(out.rows, 50);
    assert_int_equal(out.cols, 132);
    sm_agent_exec_req_release(&out);

    /* The minimum: a command and nothing else. */
    e.b.len = 0;
    assert_int_equal(sm_agent_encode_exec(&e.b, &(sm_agent_exec_req){.argv = argv, .uid = -1,
                                                                       .gid = -1}), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_exec(&e.f, &out, &why), 0);
    assert_null(out.env);
    assert_null(out.cwd);
    assert_int_equal(out.uid, -1);
    assert_false(out.has_groups || out.stdin_pipe || out.pty || out.keep);
    assert_int_equal(e.f.flags, 0);
    sm_agent_exec_req_release(&out);
    sm_agent_wbuf_free(&e.b);
}

/* A container's process: root, umask, no_new_privs and groups ride
 * along; a value the agent must not act on is refused. */
static void exec_container_fields(void **state)
{
    (void)state;
    const char *argv[] = {"id", NULL};
    const uint32_t groups[] = {5, 7};
    enc e;
    enc_init(&e);
    assert_int_equal(sm_agent_encode_exec(&e.b, &(sm_agent_exec_req){
        .argv = argv, .uid = 1, .gid = 2, .groups = groups, .ngroups = 2, .has_groups = true,
        .root = "/run/pod/c1/rootfs", .has_umask = true, .umask = 027, .no_new_privs = true}), 0);
    parse_one(&e);
    assert_int_equal(e.f.flags, SM_AGENT_F_NO_NEW_PRIVS);
    sm_agent_exec_req out;
    const char *why;
    assert_int_equal(sm_agent_decode_exec(&e.f, &out, &why), 0);
    assert_string_equal(out.root, "/run/pod/c1/rootfs");
    assert_true(out.has_umask && out.no_new_privs);
    assert_int_equal(out.umask, 027);
    assert_int_equal(out.ngroups, 2);
    assert_int_equal(out.groups[1], 7);
    sm_agent_exec_req_release(&out);

    /* umask 0 is a umask, not its absence. */
    e.b.len = 0;
    assert_int_equal(sm_agent_encode_exec(&e.b, &(sm_agent_exec_req){
        .argv = argv, .uid = -1, .gid = -1, .has_umask = true}), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_exec(&e.f, &out, &why), 0);
    assert_true(out.has_umask);
    assert_int_equal(out.umask, 0);
    assert_null(out.root);
    assert_false(out.no_new_privs);
    sm_agent_exec_req_release(&out);

    const sm_agent_exec_req bad[] = {
        {.argv = argv, .uid = -1, .gid = -1, .root = "relative/root"},
        {.argv = argv, .uid = -1, .gid = -1, .has_umask = true, .umask = 01000},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e.b.len = 0;
        assert_int_equal(sm_agent_encode_exec(&e.b, &bad[i]), 0);
        parse_one(&e);
        why = NULL;
        assert_int_equal(sm_agent_decode_exec(&e.f, &out, &why), -EBADMSG);
        assert_non_null(why);
    }
    /* A root of the wrong shape: a u32, and twice. */
    e.b.len = 0;
    sm_agent_frame_begin(&e.b, SM_AGENT_EXEC, 0);
    sm_agent_put_str(&e.b, SM_AGENT_T_ARG, "id");
    sm_agent_put_u32(&e.b, SM_AGENT_T_ROOT, 1);
    assert_int_equal(sm_agent_frame_end(&e.b), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_exec(&e.f, &out, &why), -EBADMSG);
    e.b.len = 0;
    sm_agent_frame_begin(&e.b, SM_AGENT_EXEC, 0);
    sm_agent_put_str(&e.b, SM_AGENT_T_ARG, "id");
    sm_agent_put_str(&e.b, SM_AGENT_T_ROOT, "/a");
    sm_agent_put_str(&e.b, SM_AGENT_T_ROOT, "/b");
    assert_int_equal(sm_agent_frame_end(&e.b), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_exec(&e.f, &out, &why), -EBADMSG);
    assert_string_equal(why, "a field appears twice");
    /* The tag numbers are the wire's: never renumbered. */
    assert_int_equal(SM_AGENT_T_ROOT, 26);
    assert_int_equal(SM_AGENT_T_UMASK, 27);
    assert_int_equal(SM_AGENT_F_NO_NEW_PRIVS, 0x10);
    sm_agent_wbuf_free(&e.b);
}

static void small_messages_round_trip(void **state)
{
    (void)state;
    enc e;
    enc_init(&e);
    const char *why;

    sm_agent_exit x = {.status = -1, .termsig = 9, .timed_out = true, .maxrss_kib = 1234,
                       .utime_us = 5, .stime_us = 6};
    assert_int_equal(sm_agent_encode_exit(&e.b, &x), 0);
    parse_one(&e);
    sm_agent_exit xo;
    assert_int_equal(sm_agent_decode_exit(&e.f, &xo, &why), 0);
    assert_int_equal(xo.status, -1);
    assert_int_equal(xo.termsig, 9);
    assert_true(xo.timed_out);
    assert_int_equal(xo.maxrss_kib, 1234);
    assert_int_equal(xo.utime_us, 5);
    assert_int_equal(xo.stime_us, 6);

    e.b.len = 0;
    assert_int_equal(sm_agent_encode_exit(&e.b, &(sm_agent_exit){.status = 3}), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_exit(&e.f, &xo, &why), 0);
    assert_int_equal(xo.status, 3);
    assert_int_equal(xo.termsig, 0);

    e.b.len = 0;
    assert_int_equal(sm_agent_encode_error(&e.b, &(sm_agent_error){ENOENT, "no such"}), 0);
    parse_one(&e);
    sm_agent_error er;
    assert_int_equal(sm_agent_decode_error(&e.f, &er, &why), 0);
    assert_int_equal(er.err, ENOENT);
    assert_string_equal(er.message, "no such");

    e.b.len = 0;
    assert_int_equal(sm_agent_encode_signal(&e.b, &(sm_agent_signal){15, true}), 0);
    parse_one(&e);
    sm_agent_signal sg;
    assert_int_equal(sm_agent_decode_signal(&e.f, &sg, &why), 0);
    assert_int_equal(sg.signo, 15);
    assert_true(sg.group);

    e.b.len = 0;
    assert_int_equal(sm_agent_encode_resize(&e.b, &(sm_agent_winsize){40, 100}), 0);
    parse_one(&e);
    sm_agent_winsize ws;
    assert_int_equal(sm_agent_decode_resize(&e.f, &ws, &why), 0);
    assert_int_equal(ws.rows, 40);
    assert_int_equal(ws.cols, 100);

    e.b.len = 0;
    sm_agent_stat_reply st = {.mode = 0100644, .uid = 1, .gid = 2, .size = 1ull << 40,
                              .mtime = -5, .mtime_nsec = 999999999};
    assert_int_equal(sm_agent_encode_stat_reply(&e.b, &st), 0);
    parse_one(&e);
    sm_agent_stat_reply so;
    assert_int_equal(sm_agent_decode_stat_reply(&e.f, &so, &why), 0);
    assert_int_equal(so.mode, st.mode);
    assert_int_equal(so.uid, 1);
    assert_int_equal(so.gid, 2);
    assert_int_equal(so.size, st.size);
    assert_int_equal(so.mtime, -5);
    assert_int_equal(so.mtime_nsec, st.mtime_nsec);

    e.b.len = 0;
    sm_agent_file_req fr = {.path = "/a/b", .mode = 0755, .mkdirs = true, .uid = 5, .gid = -1};
    assert_int_equal(sm_agent_encode_file_req(&e.b, SM_AGENT_FILE_WRITE, &fr), 0);
    parse_one(&e);
    sm_agent_file_req fo;
    assert_int_equal(sm_agent_decode_file_req(&e.f, &fo, &why), 0);
    assert_string_equal(fo.path, "/a/b");
    assert_int_equal(fo.mode, 0755);
    assert_true(fo.mkdirs);
    assert_int_equal(fo.uid, 5);
    assert_int_equal(fo.gid, -1);

    /* MKDIR, LINK, a listing with NULs, a symlink's stat. */
    e.b.len = 0;
    fr = (sm_agent_file_req){.path = "/d", .mkdirs = true, .uid = -1, .gid = 7};
    assert_int_equal(sm_agent_encode_file_req(&e.b, SM_AGENT_MKDIR, &fr), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_file_req(&e.f, &fo, &why), 0);
    assert_true(fo.mkdirs && fo.mode == 0755 && fo.uid == -1 && fo.gid == 7 && !fo.target);
    e.b.len = 0;
    fr = (sm_agent_file_req){.path = "/l", .target = "../t", .hard = true, .uid = 0, .gid = -1};
    assert_int_equal(sm_agent_encode_file_req(&e.b, SM_AGENT_LINK, &fr), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_file_req(&e.f, &fo, &why), 0);
    assert_true(fo.hard && !fo.mkdirs && fo.uid == 0);
    assert_string_equal(fo.target, "../t");
    e.b.len = 0;
    fr = (sm_agent_file_req){.path = "/", .names0 = true};
    assert_int_equal(sm_agent_encode_file_req(&e.b, SM_AGENT_FILE_READ, &fr), 0);
    parse_one(&e);
    assert_int_equal(e.f.flags, SM_AGENT_F_NAMES0);
    assert_int_equal(sm_agent_decode_file_req(&e.f, &fo, &why), 0);
    assert_true(fo.names0);
    e.b.len = 0;
    st.target = "/x";
    assert_int_equal(sm_agent_encode_stat_reply(&e.b, &st), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_stat_reply(&e.f, &so, &why), 0);
    assert_string_equal(so.target, "/x");

    e.b.len = 0;
    assert_int_equal(sm_agent_encode_data(&e.b, SM_AGENT_STDOUT, "abc", 3, true), 0);
    parse_one(&e);
    assert_int_equal(e.f.type, SM_AGENT_STDOUT);
    assert_int_equal(e.f.flags, SM_AGENT_F_EOF);
    assert_int_equal(e.f.len, 3);
    assert_memory_equal(e.f.payload, "abc", 3);

    e.b.len = 0;
    uint32_t pid;
    assert_int_equal(sm_agent_encode_started(&e.b, 42), 0);
    parse_one(&e);
    assert_int_equal(sm_agent_decode_started(&e.f, &pid, &why), 0);
    assert_int_equal(pid, 42);
    sm_agent_wbuf_free(&e.b);
}

/* A frame from raw bytes: header then payload. */
static size_t raw(uint8_t *buf, uint32_t len, uint16_t type, uint16_t flags, const void *p,
                  size_t plen)
{
    buf[0] = (uint8_t)len, buf[1] = (uint8_t)(len >> 8), buf[2] = (uint8_t)(len >> 16);
    buf[3] = (uint8_t)(len >> 24);
    buf[4] = (uint8_t)type, buf[5] = (uint8_t)(type >> 8);
    buf[6] = (uint8_t)flags, buf[7] = (uint8_t)(flags >> 8);
    memcpy(buf + 8, p, plen);
    return 8 + plen;
}

static void system_round_trip_and_limits(void **state)
{
    (void)state;
    uint8_t seed[SM_AGENT_SEED_MAX + 1] = {1, 2, 3};
    char long_name[80];
    memset(long_name, 'h', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    enc e;
    enc_init(&e);
    sm_agent_system in = {.hostname = "vm-1", .realtime_ns = 1234567890123456789ull,
                          .seed = seed, .seed_len = 3, .etc_hostname = true,
                          .etc_hosts = "127.0.0.1\tlocalhost\n",
                          .resolv_conf = "nameserver 10.0.2.3\n"};
    assert_int_equal(sm_agent_encode_system(&e.b, &in), 0);
    parse_one(&e);
    sm_agent_system out;
    const char *why = NULL;
    assert_int_equal(sm_agent_decode_system(&e.f, &out, &why), 0);
    assert_string_equal(out.hostname, "vm-1");
    assert_true(out.realtime_ns == in.realtime_ns);
    assert_int_equal(out.seed_len, 3);
    assert_memory_equal(out.seed, seed, 3);
    assert_true(out.etc_hostname);
    assert_string_equal(out.etc_hosts, in.etc_hosts);
    assert_string_equal(out.resolv_conf, in.resolv_conf);
    sm_agent_wbuf_free(&e.b);
    /* A hostname over the kernel's 64 bytes, an oversized seed or /etc file
     * and /etc/hostname without a hostname are refused. */
    static char big[SM_AGENT_ETC_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    sm_agent_system bad[] = {{.hostname = long_name}, {.seed = seed, .seed_len = sizeof seed},
                             {.etc_hosts = big}, {.resolv_conf = big},
                             {.etc_hostname = true}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enc_init(&e);
        assert_int_equal(sm_agent_encode_system(&e.b, &bad[i]), 0);
        parse_one(&e);
        assert_int_equal(sm_agent_decode_system(&e.f, &out, &why), -EBADMSG);
        assert_non_null(why);
        sm_agent_wbuf_free(&e.b);
    }
}

/* Tags past 31 (SYSTEM's) repeated: refused like any other, with no
 * shift past a 32-bit mask (which UBSan flags) on the way. */
static void high_tag_repeated(void **state)
{
    (void)state;
    for (uint16_t tag = SM_AGENT_T_HOSTNAME; tag <= SM_AGENT_T_RESOLV_CONF; tag++) {
        enc e;
        enc_init(&e);
        sm_agent_frame_begin(&e.b, SM_AGENT_SYSTEM, 0);
        if (tag == SM_AGENT_T_REALTIME_NS) {
            uint8_t ns[8] = {1};
            sm_agent_put_tlv(&e.b, tag, ns, 8);
            sm_agent_put_tlv(&e.b, tag, ns, 8);
        } else {
            sm_agent_put_str(&e.b, tag, "x");
            sm_agent_put_str(&e.b, tag, "x");
        }
        assert_int_equal(sm_agent_frame_end(&e.b), 0);
        parse_one(&e);
        sm_agent_system out;
        const char *why = NULL;
        assert_int_equal(sm_agent_decode_system(&e.f, &out, &why), -EBADMSG);
        assert_string_equal(why, "a field appears twice");
        sm_agent_wbuf_free(&e.b);
    }
}

static void header_errors(void **state)
{
    (void)state;
    uint8_t buf[64];
    sm_agent_frame f;
    size_t need;
    const char *why = NULL;

    /* Truncated header and payload: need more, not an error. */
    raw(buf, 4, SM_AGENT_HELLO, 0, "\1\0\4\0", 4);
    for (size_t len = 0; len < 12; len++) {
        assert_int_equal(sm_agent_frame_parse(buf, len, &f, &need, &why), 0);
        assert_int_equal(need, len < 8 ? 8 : 12);
    }
    /* Oversize: refused from the header alone. */
    raw(buf, SM_AGENT_MAX_PAYLOAD + 1, SM_AGENT_STDIN, 0, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, 8, &f, &need, &why), -EMSGSIZE);
    assert_non_null(why);
    raw(buf, 0xffffffffu, SM_AGENT_STDIN, 0, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, 8, &f, &need, &why), -EMSGSIZE);
    /* The maximum itself is fine. */
    raw(buf, SM_AGENT_MAX_PAYLOAD, SM_AGENT_STDIN, 0, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, 8, &f, &need, &why), 0);
    assert_int_equal(need, 8 + SM_AGENT_MAX_PAYLOAD);
    /* Unknown types, including holes in the numbering. */
    const uint16_t unknown[] = {0, 4, 15, 25, 31, 39, 0xffff};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        raw(buf, 0, unknown[i], 0, "", 0);
        assert_int_equal(sm_agent_frame_parse(buf, 8, &f, &need, &why), -EBADMSG);
    }
    /* Flags the type does not allow. */
    raw(buf, 0, SM_AGENT_HELLO, 1, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, 8, &f, &need, &why), -EBADMSG);
    raw(buf, 0, SM_AGENT_STDIN, 2, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, 8, &f, &need, &why), -EBADMSG);
    raw(buf, 0, SM_AGENT_EXEC, 0x20, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, 8, &f, &need, &why), -EBADMSG);
}

/* Decode a frame of the given type and payload; returns the decoder's result. */
static int decode_raw(uint16_t type, uint16_t flags, const void *p, size_t plen)
{
    uint8_t buf[256];
    size_t n = raw(buf, (uint32_t)plen, type, flags, p, plen);
    sm_agent_frame f;
    size_t need;
    const char *why = NULL;
    assert_int_equal(sm_agent_frame_parse(buf, n, &f, &need, &why), (int)n);
    union {
        sm_agent_hello h;
        sm_agent_exec_req x;
        sm_agent_exit e;
        sm_agent_signal s;
        sm_agent_file_req fr;
        sm_agent_winsize w;
        sm_agent_error er;
    } m;
    int r;
    switch (type) {
    case SM_AGENT_HELLO: r = sm_agent_decode_hello(&f, &m.h, &why); break;
    case SM_AGENT_EXEC:
        r = sm_agent_decode_exec(&f, &m.x, &why);
        if (r == 0)
            sm_agent_exec_req_release(&m.x);
        break;
    case SM_AGENT_EXIT: r = sm_agent_decode_exit(&f, &m.e, &why); break;
    case SM_AGENT_SIGNAL: r = sm_agent_decode_signal(&f, &m.s, &why); break;
    case SM_AGENT_RESIZE: r = sm_agent_decode_resize(&f, &m.w, &why); break;
    case SM_AGENT_ERROR: r = sm_agent_decode_error(&f, &m.er, &why); break;
    default: r = sm_agent_decode_file_req(&f, &m.fr, &why); break;
    }
    if (r)
        assert_non_null(why);
    return r;
}

#define TLV(tag, len) (tag) & 0xff, (tag) >> 8, (len) & 0xff, ((len) >> 8) & 0xff, 0, 0

static void tlv_errors(void **state)
{
    (void)state;
    /* Valid, to show what the broken ones break. */
    const uint8_t hello[] = {TLV(SM_AGENT_T_VERSION, 4), 1, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, hello, sizeof hello), 0);
    /* A TLV header cut short, a TLV longer than the payload. */
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, hello, 5), -EBADMSG);
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, hello, 9), -EBADMSG);
    const uint8_t overrun[] = {TLV(SM_AGENT_T_VERSION, 200), 1, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, overrun, sizeof overrun), -EBADMSG);
    /* Wrong size for the tag's kind. */
    const uint8_t short_int[] = {TLV(SM_AGENT_T_VERSION, 2), 1, 0};
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, short_int, sizeof short_int), -EBADMSG);
    /* Repeated single-valued tag. */
    const uint8_t twice[] = {TLV(SM_AGENT_T_VERSION, 4), 1, 0, 0, 0,
                             TLV(SM_AGENT_T_VERSION, 4), 1, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, twice, sizeof twice), -EBADMSG);
    /* Missing required fields. */
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, "", 0), -EBADMSG);
    assert_int_equal(decode_raw(SM_AGENT_EXEC, 0, "", 0), -EBADMSG);
    assert_int_equal(decode_raw(SM_AGENT_STAT, 0, "", 0), -EBADMSG);
    assert_int_equal(decode_raw(SM_AGENT_SIGNAL, 0, "", 0), -EBADMSG);
    assert_int_equal(decode_raw(SM_AGENT_RESIZE, 0, "", 0), -EBADMSG);
    assert_int_equal(decode_raw(SM_AGENT_ERROR, 0, "", 0), -EBADMSG);
    assert_int_equal(decode_raw(SM_AGENT_EXIT, 0, "", 0), -EBADMSG);
    /* Unknown tags are skipped. */
    const uint8_t unknown[] = {TLV(999, 3), 'x', 'y', 'z', TLV(SM_AGENT_T_VERSION, 4), 1, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_HELLO, 0, unknown, sizeof unknown), 0);
    /* Strings: NUL-terminated, no NUL inside, not empty. */
    const uint8_t arg_ok[] = {TLV(SM_AGENT_T_ARG, 3), 's', 'h', 0};
    assert_int_equal(decode_raw(SM_AGENT_EXEC, 0, arg_ok, sizeof arg_ok), 0);
    const uint8_t no_nul[] = {TLV(SM_AGENT_T_ARG, 2), 's', 'h'};
    assert_int_equal(decode_raw(SM_AGENT_EXEC, 0, no_nul, sizeof no_nul), -EBADMSG);
    const uint8_t inner_nul[] = {TLV(SM_AGENT_T_ARG, 4), 's', 0, 'h', 0};
    assert_int_equal(decode_raw(SM_AGENT_EXEC, 0, inner_nul, sizeof inner_nul), -EBADMSG);
    const uint8_t empty_str[] = {TLV(SM_AGENT_T_ARG, 0)};
    assert_int_equal(decode_raw(SM_AGENT_EXEC, 0, empty_str, sizeof empty_str), -EBADMSG);
    /* Groups: a multiple of four bytes. */
    const uint8_t groups[] = {TLV(SM_AGENT_T_ARG, 3), 's', 'h', 0, TLV(SM_AGENT_T_GROUPS, 3), 1, 2, 3};
    assert_int_equal(decode_raw(SM_AGENT_EXEC, 0, groups, sizeof groups), -EBADMSG);
    /* Values out of range. */
    const uint8_t sig0[] = {TLV(SM_AGENT_T_SIGNO, 4), 0, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_SIGNAL, 0, sig0, sizeof sig0), -EBADMSG);
    const uint8_t sig65[] = {TLV(SM_AGENT_T_SIGNO, 4), 65, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_SIGNAL, 0, sig65, sizeof sig65), -EBADMSG);
    const uint8_t both[] = {TLV(SM_AGENT_T_STATUS, 4), 1, 0, 0, 0, TLV(SM_AGENT_T_TERMSIG, 4), 9, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_EXIT, 0, both, sizeof both), -EBADMSG);
    const uint8_t status256[] = {TLV(SM_AGENT_T_STATUS, 4), 0, 1, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_EXIT, 0, status256, sizeof status256), -EBADMSG);
    const uint8_t rows[] = {TLV(SM_AGENT_T_ROWS, 4), 0, 0, 1, 0, TLV(SM_AGENT_T_COLS, 4), 80, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_RESIZE, 0, rows, sizeof rows), -EBADMSG);
    const uint8_t mode[] = {TLV(SM_AGENT_T_PATH, 2), '/', 0, TLV(SM_AGENT_T_MODE, 4), 0, 0x10, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_FILE_WRITE, 0, mode, sizeof mode), -EBADMSG);
    const uint8_t empty_path[] = {TLV(SM_AGENT_T_PATH, 1), 0};
    assert_int_equal(decode_raw(SM_AGENT_FILE_READ, 0, empty_path, sizeof empty_path), -EBADMSG);
    const uint8_t no_target[] = {TLV(SM_AGENT_T_PATH, 2), '/', 0};
    assert_int_equal(decode_raw(SM_AGENT_LINK, 0, no_target, sizeof no_target), -EBADMSG);
    const uint8_t empty_target[] = {TLV(SM_AGENT_T_PATH, 2), '/', 0, TLV(SM_AGENT_T_TARGET, 1), 0};
    assert_int_equal(decode_raw(SM_AGENT_LINK, 0, empty_target, sizeof empty_target), -EBADMSG);
    const uint8_t errno0[] = {TLV(SM_AGENT_T_ERRNO, 4), 0, 0, 0, 0};
    assert_int_equal(decode_raw(SM_AGENT_ERROR, 0, errno0, sizeof errno0), -EBADMSG);
    /* A decoder given another type's frame. */
    assert_int_equal(decode_raw(SM_AGENT_EXEC, 0, hello, sizeof hello), -EBADMSG);
}

static void writer_limits(void **state)
{
    (void)state;
    /* A fixed buffer refuses what does not fit and keeps what was there. */
    uint8_t mem[40];
    sm_agent_wbuf b = {.data = mem, .cap = sizeof mem};
    assert_int_equal(sm_agent_encode_hello(&b, &(sm_agent_hello){1}), 0);
    size_t len = b.len;
    assert_int_equal(sm_agent_encode_error(&b, &(sm_agent_error){5, "a long message that cannot fit"}),
                     -ENOBUFS);
    assert_int_equal(b.len, len);
    assert_int_equal(sm_agent_encode_started(&b, 1), 0);
    /* A growing one refuses more than the maximum payload. */
    sm_agent_wbuf g = {.grow = true};
    char *big = malloc(SM_AGENT_MAX_PAYLOAD + 1);
    memset(big, 'a', SM_AGENT_MAX_PAYLOAD);
    big[SM_AGENT_MAX_PAYLOAD] = 0;
    const char *argv[] = {big, NULL};
    assert_int_equal(sm_agent_encode_exec(&g, &(sm_agent_exec_req){.argv = argv, .uid = -1, .gid = -1}),
                     -EMSGSIZE);
    assert_int_equal(g.len, 0);
    assert_int_equal(sm_agent_encode_data(&g, SM_AGENT_STDIN, big, SM_AGENT_MAX_PAYLOAD, false), 0);
    assert_int_equal(sm_agent_encode_data(&g, SM_AGENT_STDIN, big, SM_AGENT_MAX_PAYLOAD + 1, false),
                     -EMSGSIZE);
    assert_int_equal(g.len, 8 + SM_AGENT_MAX_PAYLOAD);
    free(big);
    sm_agent_wbuf_free(&g);
}

/* Frames back to back, fed a byte at a time, come out whole and in order. */
static void stream_of_frames(void **state)
{
    (void)state;
    sm_agent_wbuf b = {.grow = true};
    sm_agent_encode_hello(&b, &(sm_agent_hello){1});
    sm_agent_encode_data(&b, SM_AGENT_STDIN, "xyz", 3, false);
    sm_agent_encode_data(&b, SM_AGENT_STDIN, NULL, 0, true);
    const uint16_t want[] = {SM_AGENT_HELLO, SM_AGENT_STDIN, SM_AGENT_STDIN};
    size_t pos = 0, got = 0;
    for (size_t avail = 0; avail <= b.len; avail++) {
        sm_agent_frame f;
        size_t need;
        const char *why;
        int n = sm_agent_frame_parse(b.data + pos, avail - pos, &f, &need, &why);
        assert_true(n >= 0);
        if (n > 0) {
            assert_int_equal(f.type, want[got++]);
            pos += (size_t)n;
        }
    }
    assert_int_equal(got, 3);
    assert_int_equal(pos, b.len);
    sm_agent_wbuf_free(&b);
}

/* TCP_CONNECT's decoder on a hand-made frame. */
static int decode_tcp(uint16_t type, const void *p, size_t plen, sm_agent_tcp_connect *m)
{
    uint8_t buf[64];
    size_t n = raw(buf, (uint32_t)plen, type, 0, p, plen);
    sm_agent_frame f;
    size_t need;
    const char *why = NULL;
    assert_int_equal(sm_agent_frame_parse(buf, n, &f, &need, &why), (int)n);
    int r = sm_agent_decode_tcp_connect(&f, m, &why);
    if (r)
        assert_non_null(why);
    return r;
}

/* ATTACH's decoder on a hand-made frame. */
static int decode_attach(uint16_t type, uint16_t flags, const void *p, size_t plen,
                         uint32_t *pid)
{
    uint8_t buf[64];
    size_t n = raw(buf, (uint32_t)plen, type, flags, p, plen);
    sm_agent_frame f;
    size_t need;
    const char *why = NULL;
    int r = sm_agent_frame_parse(buf, n, &f, &need, &why);
    if (r < 0)
        return r;
    assert_int_equal(r, (int)n);
    r = sm_agent_decode_attach(&f, pid, &why);
    if (r)
        assert_non_null(why);
    return r;
}

static void attach_round_trip_and_errors(void **state)
{
    (void)state;
    enc e;
    enc_init(&e);
    assert_int_equal(sm_agent_encode_attach(&e.b, 4321), 0);
    parse_one(&e);
    assert_int_equal(e.f.type, SM_AGENT_ATTACH);
    assert_int_equal(SM_AGENT_ATTACH, 24);
    assert_string_equal(sm_agent_type_name(SM_AGENT_ATTACH), "ATTACH");
    assert_false(sm_agent_type_is_data(SM_AGENT_ATTACH));
    uint32_t pid = 0;
    const char *why = NULL;
    assert_int_equal(sm_agent_decode_attach(&e.f, &pid, &why), 0);
    assert_int_equal(pid, 4321);
    /* Another type's frame does not decode as ATTACH, nor ATTACH as STARTED. */
    assert_int_equal(sm_agent_decode_started(&e.f, &pid, &why), -EBADMSG);
    sm_agent_wbuf_free(&e.b);
    /* On the wire: one u32 PID (tag 13), unknown tags skipped. */
    const uint8_t ok[] = {TLV(999, 1), 'x', TLV(SM_AGENT_T_PID, 4), 0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 0, ok, sizeof ok, &pid), 0);
    assert_int_equal(pid, 0x7fffffff);
    /* No pid, pid 0, a pid that is negative as a pid_t, twice, short, overrunning. */
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 0, "", 0, &pid), -EBADMSG);
    const uint8_t zero[] = {TLV(SM_AGENT_T_PID, 4), 0, 0, 0, 0};
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 0, zero, sizeof zero, &pid), -EBADMSG);
    const uint8_t neg[] = {TLV(SM_AGENT_T_PID, 4), 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 0, neg, sizeof neg, &pid), -EBADMSG);
    const uint8_t twice[] = {TLV(SM_AGENT_T_PID, 4), 7, 0, 0, 0, TLV(SM_AGENT_T_PID, 4), 7, 0, 0, 0};
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 0, twice, sizeof twice, &pid), -EBADMSG);
    const uint8_t shortp[] = {TLV(SM_AGENT_T_PID, 2), 7, 0};
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 0, shortp, sizeof shortp, &pid), -EBADMSG);
    const uint8_t overrun[] = {TLV(SM_AGENT_T_PID, 40), 7, 0, 0, 0};
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 0, overrun, sizeof overrun, &pid), -EBADMSG);
    /* ATTACH allows no flags; EXEC allows KEEP and NO_NEW_PRIVS but no
     * bit above them. */
    const uint8_t pid7[] = {TLV(SM_AGENT_T_PID, 4), 7, 0, 0, 0};
    assert_int_equal(decode_attach(SM_AGENT_ATTACH, 1, pid7, sizeof pid7, &pid), -EBADMSG);
    uint8_t buf[32];
    sm_agent_frame f;
    size_t need;
    size_t n = raw(buf, 0, SM_AGENT_EXEC, SM_AGENT_F_KEEP, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, n, &f, &need, &why), (int)n);
    n = raw(buf, 0, SM_AGENT_EXEC, SM_AGENT_F_KEEP | SM_AGENT_F_NO_NEW_PRIVS, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, n, &f, &need, &why), (int)n);
    n = raw(buf, 0, SM_AGENT_EXEC, 0x20, "", 0);
    assert_int_equal(sm_agent_frame_parse(buf, n, &f, &need, &why), -EBADMSG);
}

static void tcp_connect_round_trip_and_errors(void **state)
{
    (void)state;
    enc e;
    enc_init(&e);
    assert_int_equal(sm_agent_encode_tcp_connect(&e.b, &(sm_agent_tcp_connect){65535}), 0);
    parse_one(&e);
    assert_int_equal(e.f.type, SM_AGENT_TCP_CONNECT);
    assert_string_equal(sm_agent_type_name(SM_AGENT_TCP_CONNECT), "TCP_CONNECT");
    sm_agent_tcp_connect m = {0};
    const char *why = NULL;
    assert_int_equal(sm_agent_decode_tcp_connect(&e.f, &m, &why), 0);
    assert_int_equal(m.port, 65535);
    sm_agent_wbuf_free(&e.b);
    /* On the wire: one u32 PORT (tag 64), unknown tags skipped. */
    const uint8_t ok[] = {TLV(999, 1), 'x', TLV(SM_AGENT_T_PORT, 4), 0x90, 0x1f, 0, 0};
    assert_int_equal(decode_tcp(SM_AGENT_TCP_CONNECT, ok, sizeof ok, &m), 0);
    assert_int_equal(m.port, 8080);
    /* No port, port 0, a port over 65535, a port twice, a short port. */
    assert_int_equal(decode_tcp(SM_AGENT_TCP_CONNECT, "", 0, &m), -EBADMSG);
    const uint8_t zero[] = {TLV(SM_AGENT_T_PORT, 4), 0, 0, 0, 0};
    assert_int_equal(decode_tcp(SM_AGENT_TCP_CONNECT, zero, sizeof zero, &m), -EBADMSG);
    const uint8_t big[] = {TLV(SM_AGENT_T_PORT, 4), 0, 0, 1, 0};
    assert_int_equal(decode_tcp(SM_AGENT_TCP_CONNECT, big, sizeof big, &m), -EBADMSG);
    const uint8_t twice[] = {TLV(SM_AGENT_T_PORT, 4), 80, 0, 0, 0, TLV(SM_AGENT_T_PORT, 4), 81, 0, 0, 0};
    assert_int_equal(decode_tcp(SM_AGENT_TCP_CONNECT, twice, sizeof twice, &m), -EBADMSG);
    const uint8_t shortp[] = {TLV(SM_AGENT_T_PORT, 2), 80, 0};
    assert_int_equal(decode_tcp(SM_AGENT_TCP_CONNECT, shortp, sizeof shortp, &m), -EBADMSG);
    const uint8_t overrun[] = {TLV(SM_AGENT_T_PORT, 40), 80, 0, 0, 0};
    assert_int_equal(decode_tcp(SM_AGENT_TCP_CONNECT, overrun, sizeof overrun, &m), -EBADMSG);
    /* Another type's frame, and flags TCP_CONNECT does not allow. */
    const uint8_t port80[] = {TLV(SM_AGENT_T_PORT, 4), 80, 0, 0, 0};
    assert_int_equal(decode_tcp(SM_AGENT_MOUNT, port80, sizeof port80, &m), -EBADMSG);
    uint8_t buf[32];
    size_t n = raw(buf, sizeof port80, SM_AGENT_TCP_CONNECT, 1, port80, sizeof port80);
    sm_agent_frame f;
    size_t need;
    assert_int_equal(sm_agent_frame_parse(buf, n, &f, &need, &why), -EBADMSG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hello_round_trip),
        cmocka_unit_test(exec_round_trip),
        cmocka_unit_test(exec_container_fields),
        cmocka_unit_test(small_messages_round_trip),
        cmocka_unit_test(system_round_trip_and_limits),
        cmocka_unit_test(header_errors),
        cmocka_unit_test(tlv_errors),
        cmocka_unit_test(writer_limits),
        cmocka_unit_test(stream_of_frames),
        cmocka_unit_test(tcp_connect_round_trip_and_errors),
        cmocka_unit_test(attach_round_trip_and_errors),
        cmocka_unit_test(high_tag_repeated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
