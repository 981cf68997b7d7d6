/* login and logout: the config-file edits (pure functions on the JSON, and
 * the save), SERVER's mapping to the key pull looks under, and the check
 * against a fake registry that wants a bearer token (the flow Docker Hub
 * uses; the loopback docker-registry of registry.sh has only Basic). */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
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

#include "fake_http.h"
#include "oci/auth.h"
#include "oci/docker_config_write.h"
#include "oci/login.h"
#include "supermachine.h"

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void expect_json(const json_t *got, const char *want)
{
    json_t *w = parse(want);
    char *g = json_dumps(got, JSON_COMPACT);
    if (!json_equal((json_t *)got, w))
        fail_msg("got %s, want %s", g, want);
    free(g);
    json_decref(w);
}

static void put_keeps_other_keys_and_entries(void **state)
{
    (void)state;
    json_t *c = parse("{\"psFormat\":\"x\",\"auths\":{\"other.io\":{\"auth\":\"b3Q6cA==\","
                      "\"email\":\"e\"}},\"credHelpers\":{\"gcr.io\":\"gcloud\"}}");
    assert_int_equal(sm_docker_config_put_auth(c, "r.io:5000", "r.io:5000", "alice", "s3cret"), 0);
    expect_json(c, "{\"psFormat\":\"x\",\"auths\":{\"other.io\":{\"auth\":\"b3Q6cA==\","
                "\"email\":\"e\"},\"r.io:5000\":{\"auth\":\"YWxpY2U6czNjcmV0\"}},"
                "\"credHelpers\":{\"gcr.io\":\"gcloud\"}}");
    /* A second login replaces the entry, and the order of keys stays. */
    assert_int_equal(sm_docker_config_put_auth(c, "r.io:5000", "r.io:5000", "bob", "pw"), 0);
    char *text = json_dumps(c, JSON_COMPACT);
    assert_string_equal(text, "{\"psFormat\":\"x\",\"auths\":{\"other.io\":{\"auth\":\"b3Q6cA==\","
                        "\"email\":\"e\"},\"r.io:5000\":{\"auth\":\"Ym9iOnB3\"}},"
                        "\"credHelpers\":{\"gcr.io\":\"gcloud\"}}");
    free(text);
    json_decref(c);
}

static void put_makes_auths_and_replaces_other_forms(void **state)
{
    (void)state;
    json_t *c = parse("{}");
    assert_int_equal(sm_docker_config_put_auth(c, "r.io", "r.io", NULL, NULL), 0);
    expect_json(c, "{\"auths\":{\"r.io\":{}}}");   /* a helper's placeholder */
    json_decref(c);
    c = parse("{\"auths\":{\"http://r.io\":{\"auth\":\"old\"},\"https://r.io/v1/\":{},"
              "\"r.io.evil\":{},\"index.docker.io\":{}}}");
    assert_int_equal(sm_docker_config_put_auth(c, "r.io", "r.io", "a", "b"), 0);
    expect_json(c, "{\"auths\":{\"r.io.evil\":{},\"index.docker.io\":{},"
                "\"r.io\":{\"auth\":\"YTpi\"}}}");
    /* ':' would make user:password ambiguous. */
    assert_true(sm_docker_config_put_auth(c, "r.io", "r.io", "a:b", "c") < 0);
    json_decref(c);
}

static void drop_removes_every_form_of_the_registry(void **state)
{
    (void)state;
    json_t *c = parse("{\"x\":1,\"auths\":{\"https://index.docker.io/v1/\":{},\"docker.io\":{},"
                      "\"r.io\":{},\"http://r.io\":{}},\"credsStore\":\"pass\"}");
    assert_int_equal(sm_docker_config_drop_auth(c, "docker.io"), 2);
    expect_json(c, "{\"x\":1,\"auths\":{\"r.io\":{},\"http://r.io\":{}},\"credsStore\":\"pass\"}");
    assert_int_equal(sm_docker_config_drop_auth(c, "r.io"), 2);
    assert_int_equal(sm_docker_config_drop_auth(c, "r.io"), 0);
    expect_json(c, "{\"x\":1,\"auths\":{},\"credsStore\":\"pass\"}");
    json_decref(c);
    c = parse("{}");
    assert_int_equal(sm_docker_config_drop_auth(c, "r.io"), 0);
    expect_json(c, "{}");
    json_decref(c);
}

static void server_names_map_as_docker_maps_them(void **state)
{
    (void)state;
    static const char *const hub[] = {NULL, "", "docker.io", "index.docker.io",
                                      "https://index.docker.io/v1/", "registry-1.docker.io"};
    sm_login_server s;
    for (size_t i = 0; i < sizeof hub / sizeof *hub; i++) {
        assert_int_equal(sm_login_server_parse(hub[i], &s), 0);
        assert_string_equal(s.registry, "docker.io");
        assert_string_equal(s.key, "https://index.docker.io/v1/");
    }
    assert_int_equal(sm_login_server_parse("https://ghcr.io/some/path", &s), 0);
    assert_string_equal(s.registry, "ghcr.io");
    assert_string_equal(s.key, "ghcr.io");
    assert_int_equal(sm_login_server_parse("http://[::1]:5000", &s), 0);
    assert_string_equal(s.key, "[::1]:5000");
    assert_true(sm_login_server_parse("a b", &s) < 0);
    assert_non_null(strstr(sm_last_error(), "'a b' is not a registry"));
    assert_true(sm_login_server_parse("https://", &s) < 0);
}

typedef struct fx {
    char dir[256], config[300];
    fake_http srv;
    fake_route routes[8];
    char registry[64], challenge[256];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-test-login-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* A directory that does not exist yet: login makes it. */
    snprintf(f->config, sizeof f->config, "%s/docker/config.json", f->dir);
    char docker[280];
    snprintf(docker, sizeof docker, "%s/docker", f->dir);
    setenv("DOCKER_CONFIG", docker, 1);
    fake_http_start(&f->srv, f->routes, 0);
    snprintf(f->registry, sizeof f->registry, "127.0.0.1:%d", f->srv.port);
    *state = f;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fx *f = *state;
    fake_http_stop(&f->srv);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    unsetenv("DOCKER_CONFIG");
    free(f);
    return 0;
}

static void save_makes_private_files_and_follows_links(void **state)
{
    fx *f = *state;
    json_t *c = parse("{\"auths\":{\"r.io\":{\"auth\":\"YTpi\"}},\"n\":1.5}");
    assert_int_equal(sm_docker_config_save(f->config, c), 0);
    struct stat st;
    assert_int_equal(stat(f->config, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/docker", f->dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    json_t *back = json_load_file(f->config, 0, NULL);
    assert_true(json_equal(back, c));
    json_decref(back);
    /* A config.json that is a link to a file kept elsewhere stays a link. */
    char real[300];
    snprintf(real, sizeof real, "%s/real.json", f->dir);
    assert_int_equal(rename(f->config, real), 0);
    assert_int_equal(symlink(real, f->config), 0);
    assert_int_equal(sm_docker_config_save(f->config, c), 0);
    assert_int_equal(lstat(f->config, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    json_decref(c);
}

/* Routes of a registry that wants a token, which its token server gives
 * for alice:s3cret only; the login asks for no scope. */
static void token_registry(fx *f)
{
    fake_route *r = f->routes;
    r[0] = (fake_route){.path = "/v2/", .auth = "Bearer GOOD", .status = 200, .body = "{}"};
    snprintf(f->challenge, sizeof f->challenge, "WWW-Authenticate: Bearer realm=\"http://"
             "127.0.0.1:%d/token\",service=\"fake.registry\"\r\n", f->srv.port);
    r[1] = (fake_route){.path = "/v2/", .status = 401, .headers = f->challenge,
                        .body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}"};
    r[2] = (fake_route){.path = "/token?service=fake.registry", .auth = "Basic YWxpY2U6czNjcmV0",
                        .status = 200, .body = "{\"token\":\"GOOD\"}"};
    r[3] = (fake_route){.path = "/token?service=fake.registry", .status = 401,
                        .body = "{\"details\":\"incorrect username or password\"}"};
    f->srv.count = 4;
}

static void login_through_a_token_server_is_what_pull_finds(void **state)
{
    fx *f = *state;
    token_registry(f);
    assert_int_equal(sm_registry_login(f->registry, "alice", "s3cret", NULL), 0);
    assert_int_equal(atomic_load(&f->routes[2].hits), 1);
    sm_credentials c;
    assert_int_equal(sm_docker_credentials(f->registry, &c), 1);
    assert_string_equal(c.username, "alice");
    assert_string_equal(c.password, "s3cret");
    assert_int_equal(sm_registry_logout(f->registry), 1);
    assert_int_equal(sm_docker_credentials(f->registry, &c), 0);
    assert_int_equal(sm_registry_logout(f->registry), 0);
}

static void refused_login_writes_nothing(void **state)
{
    fx *f = *state;
    token_registry(f);
    assert_int_equal(sm_registry_login(f->registry, "alice", "wrong", NULL), -EACCES);
    char want[200];
    snprintf(want, sizeof want, "login to %s failed: unauthorized (wrong username or password)",
             f->registry);
    assert_string_equal(sm_last_error(), want);
    assert_int_equal(access(f->config, F_OK), -1);
    assert_int_equal(sm_registry_logout(f->registry), 0);   /* no file: nothing to do */
}

static void docker_hub_login_is_found_for_docker_io(void **state)
{
    fx *f = *state;
    json_t *c = parse("{}");
    sm_login_server s;
    assert_int_equal(sm_login_server_parse(NULL, &s), 0);
    assert_int_equal(sm_docker_config_put_auth(c, s.registry, s.key, "hubuser", "pw"), 0);
    assert_int_equal(sm_docker_config_save(f->config, c), 0);
    json_decref(c);
    sm_credentials cr;
    assert_int_equal(sm_docker_credentials("docker.io", &cr), 1);
    assert_string_equal(cr.username, "hubuser");
    assert_int_equal(sm_registry_logout("index.docker.io"), 1);
    assert_int_equal(sm_docker_credentials("docker.io", &cr), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_keeps_other_keys_and_entries),
        cmocka_unit_test(put_makes_auths_and_replaces_other_forms),
        cmocka_unit_test(drop_removes_every_form_of_the_registry),
        cmocka_unit_test(server_names_map_as_docker_maps_them),
        cmocka_unit_test_setup_teardown(save_makes_private_files_and_follows_links, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(login_through_a_token_server_is_what_pull_finds, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(refused_login_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(docker_hub_login_is_found_for_docker_io, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
