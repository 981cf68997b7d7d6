#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
                       "\"localhost:5000\":{\"auth\":\"bG86bG8=\"}}}");
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

/* A damaged file is an error naming it, not "no credentials" (which
 * later reads as "requires a login"); no file or an empty one is none. */
static void damaged_docker_config_is_an_error(void **state)
{
    (void)state;
    static const struct { const char *json, *says; } cases[] = {
        {"{\"auths\": {\"r.io\": {\"auth\": \"x\"}", "is not valid JSON at line 1, column 32: "},
        {"{\"auths\": {}} x", "at line 1, column"},
        {"[]", "is invalid: the whole file is an array, not an object"},
        {"{\"auths\": []}", "is invalid: \"auths\" is an array, not an object"},
        {"{\"auths\": {\"r.io\": \"u:p\"}}",
         "\"auths\" entry \"r.io\" is a string, not an object"},
        {"{\"auths\": {\"r.io\": {\"auth\": 5}}}",
         "\"auth\" of \"auths\" entry \"r.io\" is a number, not a string"},
        {"{\"credsStore\": true}", "\"credsStore\" is a boolean, not a string"},
        {"{\"credHelpers\": {\"r.io\": null}}", "\"credHelpers\" entry \"r.io\" is null"},
    };
    sm_credentials c;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        with_docker_config(cases[i].json);
        assert_true(sm_docker_credentials("r.io", &c) < 0);
        assert_non_null(strstr(sm_last_error(), "Docker's config file '/tmp/sm-auth-"));
        assert_non_null(strstr(sm_last_error(), cases[i].says));
        drop_docker_config();
    }
    with_docker_config("");
    assert_int_equal(sm_docker_credentials("r.io", &c), 0);
    drop_docker_config();
    with_docker_config("{\"auths\": {\"other.io\": {\"auth\": \"dTpw\"}}, \"psFormat\": 1}");
    assert_int_equal(sm_docker_credentials("r.io", &c), 0);   /* unknown keys are docker's */
    drop_docker_config();
}

/* Credential helpers: scripts docker-credential-NAME in a directory put
 * first in PATH; each records its arguments and stdin in NAME.log. */
static char helper_dir[64];

static void add_helper(const char *name, const char *body)
{
    char path[160];
    snprintf(path, sizeof path, "%s/docker-credential-%s", helper_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n{ echo \"$*\"; cat; } >\"%s/%s.log\"\n%s\n", helper_dir, name, body);
    fclose(f);
    chmod(path, 0755);
}

static void helper_log(const char *name, char *out, size_t len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s.log", helper_dir, name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
}

static int helpers_setup(void **state)
{
    (void)state;
    snprintf(helper_dir, sizeof helper_dir, "/tmp/sm-helpers-XXXXXX");
    assert_non_null(mkdtemp(helper_dir));
    char path[4096];
    snprintf(path, sizeof path, "%s:%s", helper_dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    add_helper("good", "echo '{\"ServerURL\":\"x\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}'");
    add_helper("other", "echo '{\"Username\":\"bob\",\"Secret\":\"hunter2\"}'");
    add_helper("token", "echo '{\"Username\":\"<token>\",\"Secret\":\"REFRESH\"}'");
    add_helper("none", "echo 'credentials not found in native keychain'; exit 1");
    add_helper("locked", "echo 'error getting credentials - err: exit status 2, out: "
               "`keychain is locked`' >&2; exit 1");
    add_helper("garbage", "echo 'this is not json'");
    return 0;
}

static int helpers_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", helper_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void creds_store_helper_is_asked(void **state)
{
    (void)state;
    with_docker_config("{\"auths\":{\"r.example:5000\":{}},\"credsStore\":\"good\"}");
    sm_credentials c;
    char log[256];
    assert_int_equal(sm_docker_credentials("r.example:5000", &c), 1);
    assert_string_equal(c.username, "alice");
    assert_string_equal(c.password, "s3cret");
    assert_false(c.identity_token);
    helper_log("good", log, sizeof log);
    assert_string_equal(log, "get\nr.example:5000");   /* the server on stdin, no newline */
    /* Docker Hub's credentials are kept under its old index address. */
    assert_int_equal(sm_docker_credentials("docker.io", &c), 1);
    helper_log("good", log, sizeof log);
    assert_string_equal(log, "get\nhttps://index.docker.io/v1/");
    drop_docker_config();
}

static void cred_helpers_entry_wins_for_its_registry(void **state)
{
    (void)state;
    with_docker_config("{\"credsStore\":\"good\",\"credHelpers\":{\"gcr.io\":\"other\"},"
                       "\"auths\":{\"gcr.io\":{\"auth\":\"bm86bm8=\"}}}");
    sm_credentials c;
    assert_int_equal(sm_docker_credentials("gcr.io", &c), 1);
    assert_string_equal(c.username, "bob");
    assert_int_equal(sm_docker_credentials("quay.io", &c), 1);
    assert_string_equal(c.username, "alice");
    drop_docker_config();
    /* Without credsStore, other registries still use "auths". */
    with_docker_config("{\"credHelpers\":{\"gcr.io\":\"other\"},"
                       "\"auths\":{\"quay.io\":{\"auth\":\"cTpxcA==\"}}}");
    assert_int_equal(sm_docker_credentials("quay.io", &c), 1);
    assert_string_equal(c.username, "q");
    drop_docker_config();
}

static void token_username_means_identity_token(void **state)
{
    (void)state;
    with_docker_config("{\"credHelpers\":{\"r.io\":\"token\"}}");
    sm_credentials c;
    assert_int_equal(sm_docker_credentials("r.io", &c), 1);
    assert_true(c.identity_token);
    assert_string_equal(c.password, "REFRESH");
    drop_docker_config();
}

static void helper_without_credentials_is_no_login(void **state)
{
    (void)state;
    with_docker_config("{\"credsStore\":\"none\"}");
    sm_credentials c;
    assert_int_equal(sm_docker_credentials("r.io", &c), 0);
    drop_docker_config();
}

static void expect_helper_error(const char *config, const char *words1, const char *words2)
{
    with_docker_config(config);
    sm_credentials c;
    assert_true(sm_docker_credentials("r.io", &c) < 0);
    const char *msg = sm_last_error();
    if (!strstr(msg, words1) || !strstr(msg, words2))
        fail_msg("error '%s' does not say '%s' and '%s'", msg, words1, words2);
    assert_null(strchr(msg, '\n'));
    drop_docker_config();
}

static void broken_helpers_are_clear_errors(void **state)
{
    (void)state;
    expect_helper_error("{\"credsStore\":\"nothere\"}", "docker-credential-nothere",
                        "is not installed");
    expect_helper_error("{\"credHelpers\":{\"r.io\":\"nothere\"}}", "\"credHelpers\" in",
                        "not in PATH");
    expect_helper_error("{\"credsStore\":\"locked\"}", "docker-credential-locked",
                        "keychain is locked");
    expect_helper_error("{\"credsStore\":\"garbage\"}", "docker-credential-garbage",
                        "did not answer");
    expect_helper_error("{\"credsStore\":\"../../bin/sh\"}", "is not valid", "../../bin/sh");
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
        cmocka_unit_test(damaged_docker_config_is_an_error),
        cmocka_unit_test(basic_header),
        cmocka_unit_test_setup_teardown(creds_store_helper_is_asked, helpers_setup, helpers_teardown),
        cmocka_unit_test_setup_teardown(cred_helpers_entry_wins_for_its_registry, helpers_setup,
                                        helpers_teardown),
        cmocka_unit_test_setup_teardown(token_username_means_identity_token, helpers_setup,
                                        helpers_teardown),
        cmocka_unit_test_setup_teardown(helper_without_credentials_is_no_login, helpers_setup,
                                        helpers_teardown),
        cmocka_unit_test_setup_teardown(broken_helpers_are_clear_errors, helpers_setup,
                                        helpers_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
