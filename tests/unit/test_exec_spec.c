/* sm_exec's container fields on their way to the agent: the request
 * sm_vm_exec sends and sm_vm_start_main writes to its file (the same
 * sm_exec_spec_request, then the EXEC encoder) carries root, umask,
 * groups and no_new_privileges, explicit groups winning over user's; and
 * the values the agent would refuse fail before anything is sent. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "agent/protocol.h"
#include "lib/exec_spec.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Encode the request and decode it as the agent does. */
static sm_agent_exec_req wire(const sm_agent_exec_req *in, sm_agent_wbuf *b)
{
    sm_agent_frame f;
    size_t need;
    const char *why = "";
    sm_agent_exec_req out;
    b->len = 0;
    assert_int_equal(sm_agent_encode_exec(b, in), 0);
    assert_int_equal(sm_agent_frame_parse(b->data, b->len, &f, &need, &why), (int)b->len);
    assert_int_equal(sm_agent_decode_exec(&f, &out, &why), 0);
    return out;
}

static void carries_container_fields(void **state)
{
    (void)state;
    const uint32_t groups[] = {5, 7, 9};
    sm_exec ex = {.size = sizeof ex, .argv = ARGV("id"), .uid = 1000, .gid = 1000,
                  .root = "/run/pod/c1/rootfs", .has_umask = 1, .umask = 027, .groups = groups,
                  .ngroups = 3, .has_groups = 1, .no_new_privileges = 1};
    sm_exec_spec s = {.argv = (char **)ARGV("id")};
    sm_agent_exec_req r = sm_exec_spec_request(&ex, &s);
    sm_agent_wbuf b = {.grow = true};
    sm_agent_exec_req got = wire(&r, &b);
    assert_string_equal(got.root, "/run/pod/c1/rootfs");
    assert_true(got.has_umask && got.no_new_privs && got.has_groups);
    assert_int_equal(got.umask, 027);
    assert_int_equal(got.uid, 1000);
    assert_int_equal(got.ngroups, 3);
    assert_int_equal(got.groups[2], 9);
    sm_agent_exec_req_release(&got);

    /* user's groups, then explicit ones replacing them (none: drop all). */
    s.has_user = 1;
    s.user = (sm_oci_user){.uid = 33, .gid = 33, .groups = {100, 200}, .group_count = 2};
    ex.has_groups = 0;
    r = sm_exec_spec_request(&ex, &s);
    got = wire(&r, &b);
    assert_int_equal(got.uid, 33);
    assert_int_equal(got.ngroups, 2);
    assert_int_equal(got.groups[1], 200);
    sm_agent_exec_req_release(&got);
    ex.has_groups = 1;
    ex.ngroups = 0;
    r = sm_exec_spec_request(&ex, &s);
    got = wire(&r, &b);
    assert_int_equal(got.uid, 33);
    assert_true(got.has_groups);
    assert_int_equal(got.ngroups, 0);
    sm_agent_exec_req_release(&got);

    /* None of it set: none of it sent. */
    r = sm_exec_spec_request(&(sm_exec){.size = sizeof(sm_exec), .argv = ARGV("id")},
                             &(sm_exec_spec){.argv = (char **)ARGV("id")});
    got = wire(&r, &b);
    assert_null(got.root);
    assert_false(got.has_umask || got.no_new_privs || got.has_groups);
    sm_agent_exec_req_release(&got);
    sm_agent_wbuf_free(&b);
}

static void refuses_what_the_agent_would(void **state)
{
    (void)state;
    const sm_exec bad[] = {
        {.argv = ARGV("id"), .root = "relative/root"},
        {.argv = ARGV("id"), .has_umask = 1, .umask = 01000},
        {.argv = ARGV("id"), .has_groups = 1, .ngroups = 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sm_exec_spec s;
        assert_int_equal(sm_exec_spec_build(NULL, NULL, &bad[i], 0, &s), -EINVAL);
    }
    sm_exec_spec s;
    assert_int_equal(sm_exec_spec_build(NULL, NULL,
                                        &(sm_exec){.size = sizeof(sm_exec),
                                                   .argv = ARGV("id"),
                                                   .root = "/r",
                                                   .has_umask = 1,
                                                   .umask = 0777},
                                        0, &s),
                     0);
    sm_exec_spec_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(carries_container_fields),
        cmocka_unit_test(refuses_what_the_agent_would),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
