#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "oci/ref.h"
#include "supermachine.h"

static void expect(const char *in, const char *normal)
{
    sm_ref r;
    char out[SM_REF_STR_MAX];
    if (sm_ref_parse(in, &r) != 0)
        fail_msg("'%s' rejected: %s", in, sm_last_error());
    sm_ref_string(&r, out, sizeof out);
    assert_string_equal(out, normal);
}

static void normalises_as_docker_does(void **state)
{
    (void)state;
    expect("alpine", "docker.io/library/alpine:latest");
    expect("alpine:3.20", "docker.io/library/alpine:3.20");
    expect("library/alpine", "docker.io/library/alpine:latest");
    expect("docker.io/alpine", "docker.io/library/alpine:latest");
    expect("index.docker.io/library/alpine:3", "docker.io/library/alpine:3");
    expect("bitnami/redis:7.2", "docker.io/bitnami/redis:7.2");
    expect("ghcr.io/owner/repo/sub:v1.0_rc-2", "ghcr.io/owner/repo/sub:v1.0_rc-2");
    expect("localhost/foo", "localhost/foo:latest");
    expect("localhost:5000/foo/bar", "localhost:5000/foo/bar:latest");
    expect("127.0.0.1:5000/a__b.c-d", "127.0.0.1:5000/a__b.c-d:latest");
    expect("[::1]:5000/x:y", "[::1]:5000/x:y");
    /* A bare "name:port" is a tag, as in Docker. */
    expect("localhost:5000", "docker.io/library/localhost:5000");
}

static void keeps_digests(void **state)
{
    (void)state;
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char in[200], want[300];
    snprintf(in, sizeof in, "alpine@%s", d);
    snprintf(want, sizeof want, "docker.io/library/alpine@%s", d);
    expect(in, want);
    snprintf(in, sizeof in, "alpine:3.20@%s", d);
    snprintf(want, sizeof want, "docker.io/library/alpine:3.20@%s", d);
    expect(in, want);
    sm_ref r;
    assert_int_equal(sm_ref_parse(in, &r), 0);
    assert_string_equal(sm_ref_reference(&r), d);   /* the digest wins */
    assert_string_equal(r.tag, "3.20");
}

static void rejects(const char *in, const char *why)
{
    sm_ref r;
    if (sm_ref_parse(in, &r) == 0)
        fail_msg("'%s' accepted", in);
    if (!strstr(sm_last_error(), why))
        fail_msg("'%s': error '%s' does not say '%s'", in, sm_last_error(), why);
    assert_non_null(strstr(sm_last_error(), "invalid image reference"));
}

static void rejects_malformed_references(void **state)
{
    (void)state;
    rejects("", "empty");
    rejects("Alpine", "lowercase");
    rejects("docker.io/Library/alpine", "lowercase");
    rejects("alpine:", "tag");
    rejects("alpine:-x", "tag");
    rejects("alpine:has space", "tag");
    rejects("-alpine", "repository name");
    rejects("alp..ine", "repository name");
    rejects("alpine/", "repository name");
    rejects("a//b", "repository name");
    rejects("alpine@sha256:abc", "sha256");
    rejects("alpine@md5:0123456789abcdef0123456789abcdef", "sha256");
    rejects(":tag", "missing");
    rejects("host:5000/", "repository name");
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    rejects(longname, "long");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(normalises_as_docker_does),
        cmocka_unit_test(keeps_digests),
        cmocka_unit_test(rejects_malformed_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
