#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "oci/auth.h"
#include "supermachine.h"

static void parses_docker_hub_challenge(void **state)
{
    (void)state;
    sm_challenge c;
    assert_int_equal(sm_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                        "service=\"registry.docker.io\","
                                        "scope=\"repository:library/alpine:pull\"", &c), 0);
    assert_string_equal(c.scheme, "Bearer");
    assert_string_equal(c.realm, "https://auth.docker.io/token");
    assert_string_equal(c.service, "registry.docker.io");
    assert_string_equal(c.scope, "repository:library/alpine:pull");
}

static void parses_other_challenge_forms(void **state)
{
    (void)state;
    sm_challenge c;
    assert_int_equal(sm_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
    assert_string_equal(c.scheme, "Basic");
    assert_string_equal(c.realm, "Registry Realm");
    /* Unquoted values, odd spacing, escapes, unknown keys. */
    assert_int_equal(sm_challenge_parse("bearer  realm=https://x/t , error=\"insufficient_scope\","
                                        "scope=\"repository:a:pull,push\",service=\"s\\\"q\"", &c), 0);
    assert_string_equal(c.realm, "https://x/t");
    assert_string_equal(c.scope, "repository:a:pull,push");
    assert_string_equal(c.service, "s\"q");
    assert_true(sm_challenge_parse("Bearer service=\"x\"", &c) < 0);
    assert_non_null(strstr(sm_last_error(), "no realm"));
    assert_true(sm_challenge_parse("", &c) < 0);
}

static void parses_token_responses(void **state)
{
    (void)state;
    char *t;
    const char *plain = "{\"token\":\"abc\",\"expires_in\":300}";
    assert_int_equal(sm_token_parse(plain, strlen(plain), "r", &t), 0);
    assert_string_equal(t, "abc");
    free(t);
    const char *oauth = "{\"access_token\":\"xyz\"}";
    assert_int_equal(sm_token_parse(oauth, strlen(oauth), "r", &t), 0);
    assert_string_equal(t, "xyz");
    free(t);
    assert_true(sm_token_parse("{}", 2, "https://auth", &t) < 0);
    assert_non_null(strstr(sm_last_error(), "https://auth answered without a token"));
}

static void with_docker_config(const char *json)
{
    char dir[] = "/tmp/sm-auth-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    setenv("DOCKER_CONFIG", dir, 1);
}

static void drop_docker_config(void)
{
    char path[64];
    const char *dir = getenv("DOCKER_CONFIG");
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

static void finds_credentials_in_docker_config(void **state)
{
    (void)state;
    with_docker_config("{\"auths\":{"
                       "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnBhc3M=\"},"
                       "\"https://ghcr.io\":{\"auth\":\"Z2g6Z2g6cGFzcw==\"},"
                       "\"quay.io\":{\"username\":\"q\",\"password\":\"qp\"},"
                       "\"localhost:5000\":{\"auth\":\"bG86bG8=\"}},"
                       "\"credsStore\":\"desktop\"}");
    sm_credentials c;
    assert_int_equal(sm_docker_credentials("docker.io", &c), 1);
    assert_string_equal(c.username, "hub");
    assert_string_equal(c.password, "hubpass");
    assert_int_equal(sm_docker_credentials("ghcr.io", &c), 1);
    assert_string_equal(c.username, "gh");
    assert_string_equal(c.password, "gh:pass");   /* a colon in the password */
    assert_int_equal(sm_docker_credentials("quay.io", &c), 1);
    assert_string_equal(c.password, "qp");
    assert_int_equal(sm_docker_credentials("localhost:5000", &c), 1);
    assert_int_equal(sm_docker_credentials("localhost:5001", &c), 0);
    assert_int_equal(sm_docker_credentials("ghcr.io.evil.com", &c), 0);
    drop_docker_config();
}

static void broken_auth_entry_is_an_error(void **state)
{
    (void)state;
    with_docker_config("{\"auths\":{\"r.io\":{\"auth\":\"bm9jb2xvbg==\"}}}");   /* "nocolon" */
    sm_credentials c;
    assert_true(sm_docker_credentials("r.io", &c) < 0);
    assert_non_null(strstr(sm_last_error(), "user:password"));
    drop_docker_config();
    setenv("DOCKER_CONFIG", "/nonexistent", 1);
    assert_int_equal(sm_docker_credentials("r.io", &c), 0);
}

static void basic_header(void **state)
{
    (void)state;
    sm_credentials c = {.username = "alice", .password = "s3cret"};
    char h[128];
    sm_basic_authorization(&c, h, sizeof h);
    assert_string_equal(h, "Basic YWxpY2U6czNjcmV0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_docker_hub_challenge),
        cmocka_unit_test(parses_other_challenge_forms),
        cmocka_unit_test(parses_token_responses),
        cmocka_unit_test(finds_credentials_in_docker_config),
        cmocka_unit_test(broken_auth_entry_is_an_error),
        cmocka_unit_test(basic_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
