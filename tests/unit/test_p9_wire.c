/*
 * Hostile 9P messages against the server (no VM): truncated and oversized
 * messages, lying size and length fields, too many walk elements, names
 * with NULs, unknown types, replies that do not fit, fid abuse. Each must
 * fail that one request with the right Rlerror and leave the server
 * serving.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "devices/p9/p9_codec.h"
#include "p9_client.h"
#include "p9_fixture.h"

#define ROOT 1

typedef struct fx {
    p9_tree t;
    p9c c;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f || p9_tree_make(&f->t) < 0 || sm_p9_server_create(f->t.share, false, &f->c.s) != 0)
        return -1;
    if (p9c_version(&f->c, SM_P9_MAX_MSIZE, "9P2000.L", NULL) || p9c_attach(&f->c, ROOT))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    sm_p9_server_destroy(f->c.s);
    p9_tree_remove(&f->t);
    free(f);
    return 0;
}

/* The server still answers a good request after a bad one. */
static void still_serves(p9c *c)
{
    assert_int_equal(p9c_walk(c, ROOT, 77, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_clunk(c, 77), 0);
}

static void version_negotiates_msize(void **state)
{
    p9c *c = &((fx *)*state)->c;
    uint32_t got;
    char v[32];
    assert_int_equal(p9c_version(c, 1u << 30, "9P2000.L", &got), 0);
    assert_int_equal(got, SM_P9_MAX_MSIZE);
    p9c_gstr(c, v, sizeof v);
    assert_string_equal(v, "9P2000.L");
    assert_int_equal(p9c_version(c, 8192, "9P2000.u", &got), 0);
    assert_int_equal(got, 8192);
    p9c_gstr(c, v, sizeof v);
    assert_string_equal(v, "unknown");
    assert_int_equal(p9c_version(c, 100, "9P2000.L", &got), EINVAL);
    /* A new version drops every fid. */
    assert_int_equal(p9c_version(c, 8192, "9P2000.L", &got), 0);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, ""), EBADF);
    /* And messages over the negotiated msize are refused. */
    assert_int_equal(p9c_attach(c, ROOT), 0);
    char big[9000];
    memset(big, 'x', sizeof big);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_lopen(c, 2, 2), 0);
    assert_int_equal(p9c_write(c, 2, 0, big, sizeof big), EMSGSIZE);
    /* Replies are cut to msize too: a read asks for more than fits. */
    uint32_t n;
    assert_int_equal(p9c_write(c, 2, 0, big, 8000), 0);
    assert_int_equal(p9c_read(c, 2, 0, 1u << 20, NULL, &n), 0);
    assert_true(n <= 8192 - 11);
    assert_true(c->rlen <= 8192);
}

static void truncated_headers_get_no_reply(void **state)
{
    p9c *c = &((fx *)*state)->c;
    for (size_t len = 0; len < SM_P9_HEADER; len++) {
        memcpy(c->msg, "\x07\x00\x00\x00\x78\x01\x00", 7);
        assert_int_equal(p9c_send_raw(c, len), 0);
    }
    still_serves(c);
}

static void lying_size_fields(void **state)
{
    p9c *c = &((fx *)*state)->c;
    p9c_begin(c, SM_P9_TCLUNK);
    p9c_u32(c, ROOT);
    /* Larger than what arrived. */
    c->msg[0] = 200;
    assert_int_equal(p9c_send_raw(c, c->mlen), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
    /* Smaller than a header. */
    c->msg[0] = 3;
    assert_int_equal(p9c_send_raw(c, c->mlen), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
    /* Smaller than the message's fields: the fid is cut off. */
    c->msg[0] = 9;
    assert_int_equal(p9c_send_raw(c, c->mlen), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
    /* Trailing bytes after the last field. */
    p9c_begin(c, SM_P9_TCLUNK);
    p9c_u32(c, ROOT);
    p9c_u8(c, 0);
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
    /* The root fid survived all of it. */
    still_serves(c);
}

static void lying_string_and_count_fields(void **state)
{
    p9c *c = &((fx *)*state)->c;
    /* A name whose length runs past the message. */
    p9c_begin(c, SM_P9_TWALK);
    p9c_u32(c, ROOT);
    p9c_u32(c, 2);
    p9c_u16(c, 1);
    p9c_u16(c, 5000);
    p9c_raw(c, "hello.txt", 9);
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
    /* More walk elements than 9P allows. */
    p9c_begin(c, SM_P9_TWALK);
    p9c_u32(c, ROOT);
    p9c_u32(c, 2);
    p9c_u16(c, SM_P9_MAX_WALK + 1);
    for (int i = 0; i <= SM_P9_MAX_WALK; i++)
        p9c_str(c, "sub");
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
    /* A Twrite whose count is more than the data it carries. */
    p9c_begin(c, SM_P9_TWRITE);
    p9c_u32(c, ROOT);
    p9c_u64(c, 0);
    p9c_u32(c, 0xffffffffu);
    p9c_raw(c, "abc", 3);
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EBADMSG);
    still_serves(c);
}

static void names_with_nul_or_too_long(void **state)
{
    p9c *c = &((fx *)*state)->c;
    p9c_begin(c, SM_P9_TWALK);
    p9c_u32(c, ROOT);
    p9c_u32(c, 2);
    p9c_u16(c, 1);
    p9c_u16(c, 11);
    p9c_raw(c, "hello.txt\0x", 11);
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EINVAL);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, longname), ENAMETOOLONG);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, ""), 0);
    assert_int_equal(p9c_walk(c, ROOT, 3, NULL, "|sub"), EINVAL);
    still_serves(c);
}

static void unknown_types_and_no_room(void **state)
{
    p9c *c = &((fx *)*state)->c;
    p9c_begin(c, 200);
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EOPNOTSUPP);
    p9c_begin(c, SM_P9_RWALK);   /* a reply sent as a request */
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), EOPNOTSUPP);
    /* Tauth: no authentication. */
    p9c_begin(c, SM_P9_TAUTH);
    p9c_u32(c, 9);
    p9c_str(c, "u");
    p9c_str(c, "");
    p9c_u32(c, 0);
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    /* No room for any reply: nothing is written. */
    c->cap = 10;
    p9c_begin(c, SM_P9_TCLUNK);
    p9c_u32(c, 12345);
    assert_int_equal(p9c_send(c), 0);
    /* Room for an error only: Rgetattr does not fit, ENOBUFS does. */
    c->cap = 11;
    p9c_begin(c, SM_P9_TGETATTR);
    p9c_u32(c, ROOT);
    p9c_u64(c, SM_P9_GETATTR_BASIC);
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), ENOBUFS);
    c->cap = 0;
    still_serves(c);
}

static void fid_abuse(void **state)
{
    p9c *c = &((fx *)*state)->c;
    char buf[16];
    uint32_t n;
    assert_int_equal(p9c_clunk(c, 999), EBADF);
    assert_int_equal(p9c_walk(c, 999, 2, NULL, ""), EBADF);
    assert_int_equal(p9c_read(c, ROOT, 0, 10, buf, &n), EBADF);   /* not open */
    assert_int_equal(p9c_attach(c, ROOT), EBADF);                  /* in use */
    assert_int_equal(p9c_walk(c, ROOT, SM_P9_NOFID, NULL, ""), EBADF);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "hello.txt"), 0);
    assert_int_equal(p9c_walk(c, ROOT, 2, NULL, "sub"), EBADF);    /* newfid in use */
    assert_int_equal(p9c_lopen(c, 2, 0), 0);
    assert_int_equal(p9c_lopen(c, 2, 0), EBUSY);                   /* open twice */
    assert_int_equal(p9c_walk(c, 2, 2, NULL, "x"), EBUSY);         /* move an open fid */
    assert_int_equal(p9c_read(c, 2, 1ull << 63, 10, buf, &n), EINVAL);
    /* An empty xattr list; named attributes do not exist. */
    p9c_begin(c, SM_P9_TXATTRWALK);
    p9c_u32(c, ROOT);
    p9c_u32(c, 3);
    p9c_str(c, "user.x");
    assert_int_equal(p9c_send(c), SM_P9_RLERROR);
    assert_int_equal(p9c_err(c), ENODATA);
    still_serves(c);
}

static void fid_table_is_bounded(void **state)
{
    p9c *c = &((fx *)*state)->c;
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    uint32_t id = 100;
    int e = 0;
    for (; id < 100 + 2 * 4096 && (e = p9c_walk(c, ROOT, id, NULL, "")) == 0; id++)
        ;
    assert_int_equal(e, EMFILE);
    assert_true(id - 100 <= 4096);
    /* Clunking one frees a place. */
    assert_int_equal(p9c_clunk(c, 100), 0);
    assert_int_equal(p9c_walk(c, ROOT, 100, NULL, ""), 0);
}

/* Every descriptor a fid holds is counted: walks, opens and creates past
 * the budget fail with EMFILE (a create before the file exists), and the
 * host holds no more than the budget; clunks give them back. */
static void host_fds_are_bounded(void **state)
{
    fx *f = *state;
    p9c *c = &f->c;
    enum { BUDGET = 40 };
    sm_p9_server_limit_fds(c->s, BUDGET);
    unsigned before = p9_open_fds();   /* ROOT holds one */
    uint32_t id = 100;
    int e = 0;
    for (; id < 1000 && (e = p9c_walk(c, ROOT, id, NULL, "sub")) == 0; id++)
        ;
    assert_int_equal(e, EMFILE);
    assert_int_equal(id - 100, (BUDGET - 1) / 2);    /* two each: sub and its parent */
    assert_true(p9_open_fds() - before <= BUDGET - 1);
    assert_int_equal(p9c_walk(c, ROOT, 2000, NULL, ""), 0);  /* a clone: one more */
    assert_int_equal(p9c_walk(c, ROOT, 2001, NULL, ""), EMFILE);
    assert_int_equal(p9c_lopen(c, 2000, 0), EMFILE);
    assert_int_equal(p9c_lcreate(c, 100, "new.txt", 2, 0644), EMFILE);
    assert_false(p9_tree_exists(&f->t, "sub/new.txt"));
    assert_int_equal(p9_open_fds() - before, BUDGET - 1);
    /* One clunk: room for an open, then a create that needs three. */
    assert_int_equal(p9c_clunk(c, 2000), 0);
    assert_int_equal(p9c_lopen(c, 100, 0), 0);
    assert_int_equal(p9c_lcreate(c, 101, "new.txt", 2, 0644), EMFILE);
    assert_int_equal(p9c_clunk(c, 100), 0);
    assert_int_equal(p9c_lcreate(c, 101, "new.txt", 2, 0644), 0);
    assert_true(p9_tree_exists(&f->t, "sub/new.txt"));
    for (uint32_t i = 101; i < id; i++)
        assert_int_equal(p9c_clunk(c, i), 0);
    assert_int_equal(p9_open_fds(), before);
    /* A new session gives everything back. */
    assert_int_equal(p9c_walk(c, ROOT, 3000, NULL, "sub"), 0);
    assert_int_equal(p9c_version(c, SM_P9_MAX_MSIZE, "9P2000.L", NULL), 0);
    assert_int_equal(p9_open_fds(), before - 1);
}

/* The decoder alone: every prefix of valid messages is rejected cleanly. */
static void every_prefix_is_rejected(void **state)
{
    p9c *c = &((fx *)*state)->c;
    static sm_p9_req r;
    const char *names = "sub|x|y";
    p9c_walk(c, ROOT, 5, NULL, names);
    uint8_t msg[256];
    size_t len = c->mlen;
    memcpy(msg, c->msg, len);
    assert_int_equal(sm_p9_decode(msg, len, &r), 0);
    assert_int_equal(r.nwname, 3);
    assert_string_equal(r.wname[2], "y");
    for (size_t cut = 0; cut < len; cut++) {
        msg[0] = (uint8_t)cut;
        assert_int_equal(sm_p9_decode(msg, cut, &r), -EBADMSG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(version_negotiates_msize, setup, teardown),
        cmocka_unit_test_setup_teardown(truncated_headers_get_no_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(lying_size_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(lying_string_and_count_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(names_with_nul_or_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_types_and_no_room, setup, teardown),
        cmocka_unit_test_setup_teardown(fid_abuse, setup, teardown),
        cmocka_unit_test_setup_teardown(fid_table_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(host_fds_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(every_prefix_is_rejected, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
