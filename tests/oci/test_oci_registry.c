/* The registry client against a fake registry: the bearer token flow
 * (which Docker Hub uses and the loopback docker-registry cannot), Basic
 * auth, retries, and every way a registry can send bad content. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_http.h"
#include "oci/digest.h"
#include "oci/registry.h"
#include "supermachine.h"

#define LAYERS 3
#define LAYER_SIZE (200 * 1024)

typedef struct fx {
    char dir[256];
    fake_http srv;
    fake_route routes[32];
    size_t n;
    char *owned[64];
    size_t nowned;
    char *config, *manifest, *layer[LAYERS];
    char config_digest[SM_DIGEST_STR], manifest_digest[SM_DIGEST_STR];
    char layer_digest[LAYERS][SM_DIGEST_STR];
    char ref[128];
} fx;

static char *own(fx *f, char *s)
{
    f->owned[f->nowned++] = s;
    return s;
}

static char *fmt(fx *f, const char *format, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(fx *f, const char *format, ...)
{
    va_list ap;
    char *s;
    va_start(ap, format);
    assert_true(vasprintf(&s, format, ap) >= 0);
    va_end(ap);
    return own(f, s);
}

static fake_route *route(fx *f, const char *path, int status, const char *body)
{
    fake_route *r = &f->routes[f->n++];
    r->path = path;
    r->status = status;
    r->body = body;
    f->srv.count = f->n;
    return r;
}

static void build_image(fx *f)
{
    f->config = own(f, strdup("{\"architecture\":\"amd64\",\"os\":\"linux\","
                              "\"config\":{\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\"}}"));
    sm_digest_of(f->config, strlen(f->config), f->config_digest);
    char layers[LAYERS][200];
    for (int i = 0; i < LAYERS; i++) {
        f->layer[i] = own(f, malloc(LAYER_SIZE));
        for (size_t j = 0; j < LAYER_SIZE; j++)
            f->layer[i][j] = (char)(j * 7 + (size_t)i * 13);
        sm_digest_of(f->layer[i], LAYER_SIZE, f->layer_digest[i]);
        snprintf(layers[i], sizeof layers[i],
                 "%s{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\","
                 "\"digest\":\"%s\",\"size\":%d}", i ? "," : "", f->layer_digest[i], LAYER_SIZE);
    }
    f->manifest = fmt(f, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest."
                      "v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                      "\"digest\":\"%s\",\"size\":%zu},\"layers\":[%s%s%s]}", f->config_digest,
                      strlen(f->config), layers[0], layers[1], layers[2]);
    sm_digest_of(f->manifest, strlen(f->manifest), f->manifest_digest);
}

/* The image's routes, answered only with `auth` (NULL: to anyone). */
static void image_routes(fx *f, const char *auth)
{
    route(f, "/v2/", 200, "{}")->auth = auth;
    fake_route *m = route(f, "/v2/test/manifests/1", 200, f->manifest);
    m->auth = auth;
    m->headers = fmt(f, "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
                     "Docker-Content-Digest: %s\r\n", f->manifest_digest);
    route(f, fmt(f, "/v2/test/blobs/%s", f->config_digest), 200, f->config)->auth = auth;
    for (int i = 0; i < LAYERS; i++) {
        fake_route *r = route(f, fmt(f, "/v2/test/blobs/%s", f->layer_digest[i]), 200, f->layer[i]);
        r->body_len = LAYER_SIZE;
        r->auth = auth;
    }
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-oci-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[300];
    snprintf(path, sizeof path, "%s/store", f->dir);
    setenv("SUPERMACHINE_DATA_DIR", path, 1);
    snprintf(path, sizeof path, "%s/docker", f->dir);
    setenv("DOCKER_CONFIG", path, 1);   /* none: never the user's own */
    fake_http_start(&f->srv, f->routes, 0);
    snprintf(f->ref, sizeof f->ref, "127.0.0.1:%d/test:1", f->srv.port);
    build_image(f);
    *state = f;
    return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    fx *f = *state;
    fake_http_stop(&f->srv);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < f->nowned; i++)
        free(f->owned[i]);
    free(f);
    return 0;
}

static bool has_blob(fx *f, const char *digest)
{
    char path[512];
    snprintf(path, sizeof path, "%s/store/blobs/sha256/%s", f->dir, digest + 7);
    return access(path, F_OK) == 0;
}

static int partial_files(fx *f)
{
    char path[512];
    snprintf(path, sizeof path, "%s/store/blobs/sha256", f->dir);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)); )
        n += !strncmp(e->d_name, ".partial-", 9);
    if (d)
        closedir(d);
    return n;
}

static size_t image_count(void)
{
    sm_image_info **list;
    size_t n;
    assert_int_equal(sm_image_list(&list, &n), 0);
    sm_image_list_free(list, n);
    return n;
}

static void expect_pulled(fx *f)
{
    sm_image_ref out = SM_IMAGE_REF_INIT;
    int err = sm_image_pull(f->ref, NULL, &out);
    if (err)
        fail_msg("pull failed: %s", sm_last_error());
    assert_string_equal(out.digest, f->manifest_digest);
    assert_true(has_blob(f, f->manifest_digest) && has_blob(f, f->config_digest));
    for (int i = 0; i < LAYERS; i++)
        assert_true(has_blob(f, f->layer_digest[i]));
    assert_int_equal(partial_files(f), 0);
    assert_int_equal(image_count(), 1);
}

/* A failed pull says `words` in one line and leaves no trace. */
static void expect_failure(fx *f, const char *words)
{
    assert_true(sm_image_pull(f->ref, NULL, NULL) < 0);
    const char *msg = sm_last_error();
    if (!strstr(msg, words))
        fail_msg("error '%s' does not say '%s'", msg, words);
    assert_null(strchr(msg, '\n'));
    assert_int_equal(partial_files(f), 0);
    assert_int_equal(image_count(), 0);
}

static void bearer_challenge(fx *f)
{
    fake_route *r = route(f, "/v2/", 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
    r->headers = fmt(f, "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
                     "service=\"fake.registry\"\r\n", f->srv.port);
}

static void anonymous_bearer_token_flow(void **state)
{
    fx *f = *state;
    image_routes(f, "Bearer T0K3N");
    bearer_challenge(f);
    fake_route *token = route(f, "/token", 200, "{\"token\":\"T0K3N\",\"expires_in\":300}");
    expect_pulled(f);
    /* One token serves every request of the pull. */
    assert_int_equal(atomic_load(&token->hits), 1);
}

static void token_request_names_service_and_scope(void **state)
{
    fx *f = *state;
    image_routes(f, "Bearer ACC");
    bearer_challenge(f);
    route(f, "/token?service=fake.registry&scope=repository%3Atest%3Apull", 200,
          "{\"access_token\":\"ACC\"}");
    expect_pulled(f);
}

static void write_docker_config(fx *f, const char *user_pass_b64)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docker", f->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/docker/config.json", f->dir);
    FILE *c = fopen(path, "w");
    fprintf(c, "{\"auths\":{\"127.0.0.1:%d\":{\"auth\":\"%s\"}}}", f->srv.port, user_pass_b64);
    fclose(c);
}

static void docker_config_credentials_go_to_the_token_server(void **state)
{
    fx *f = *state;
    write_docker_config(f, "YWxpY2U6czNjcmV0");   /* alice:s3cret */
    image_routes(f, "Bearer PRIVATE");
    bearer_challenge(f);
    route(f, "/token", 200, "{\"token\":\"PRIVATE\"}")->auth = "Basic YWxpY2U6czNjcmV0";
    route(f, "/token", 401, "{\"details\":\"incorrect username or password\"}");
    expect_pulled(f);
}

/* A credential helper that gives "<token>": the identity token is traded
 * for an access token with docker's OAuth2 POST, never sent as a password. */
static void identity_token_from_a_helper_is_traded_by_oauth(void **state)
{
    fx *f = *state;
    char path[512];
    snprintf(path, sizeof path, "%s/docker-credential-fake", f->dir);
    FILE *h = fopen(path, "w");
    fputs("#!/bin/sh\necho '{\"Username\":\"<token>\",\"Secret\":\"REFRESH+1\"}'\n", h);
    fclose(h);
    chmod(path, 0755);
    char *old_path = strdup(getenv("PATH"));
    setenv("PATH", fmt(f, "%s:%s", f->dir, old_path), 1);
    snprintf(path, sizeof path, "%s/docker", f->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/docker/config.json", f->dir);
    h = fopen(path, "w");
    fputs("{\"credsStore\":\"fake\"}", h);
    fclose(h);
    image_routes(f, "Bearer ACCESS");
    bearer_challenge(f);
    fake_route *token = route(f, "/token", 200, "{\"access_token\":\"ACCESS\"}");
    sm_image_ref out = SM_IMAGE_REF_INIT;
    int err = sm_image_pull(f->ref, NULL, &out);
    setenv("PATH", old_path, 1);
    free(old_path);
    if (err)
        fail_msg("pull failed: %s", sm_last_error());
    assert_int_equal(atomic_load(&token->hits), 1);
    assert_string_equal(token->seen_method, "POST");
    assert_string_equal(token->seen_body, "grant_type=refresh_token&client_id=supermachine"
                        "&service=fake.registry&scope=repository%3Atest%3Apull"
                        "&refresh_token=REFRESH%2B1");
    assert_string_equal(out.digest, f->manifest_digest);
}

static void wrong_password_is_one_clear_error(void **state)
{
    fx *f = *state;
    write_docker_config(f, "YWxpY2U6d3Jvbmc=");   /* alice:wrong */
    image_routes(f, "Bearer PRIVATE");
    bearer_challenge(f);
    route(f, "/token", 200, "{\"token\":\"PRIVATE\"}")->auth = "Basic YWxpY2U6czNjcmV0";
    route(f, "/token", 401, "{\"details\":\"incorrect username or password\"}");
    expect_failure(f, "rejected the username or password");
}

static void basic_auth_with_given_credentials(void **state)
{
    fx *f = *state;
    image_routes(f, "Basic YWxpY2U6czNjcmV0");
    route(f, "/v2/", 401, "{}")->headers = "WWW-Authenticate: Basic realm=\"fake\"\r\n";
    expect_failure(f, "requires a login");
    sm_pull_options o = {.size = sizeof o, .username = "alice", .password = "s3cret"};
    assert_int_equal(sm_image_pull(f->ref, &o, NULL), 0);
    o.password = "wrong";
    assert_true(sm_image_pull(f->ref, &o, NULL) < 0);
    assert_non_null(strstr(sm_last_error(), "rejected the username or password"));
}

static void retries_server_errors(void **state)
{
    fx *f = *state;
    fake_route *busy = route(f, "/v2/test/manifests/1", 503, "busy");
    busy->times = 2;
    image_routes(f, NULL);
    expect_pulled(f);
    assert_int_equal(atomic_load(&busy->hits), 2);
}

static void keep_last(const sm_pull_progress *p, void *ctx)
{
    *(sm_pull_progress *)ctx = *p;
}

static fake_route *dropping_route(fx *f, int layer)
{
    fake_route *drop = route(f, fmt(f, "/v2/test/blobs/%s", f->layer_digest[layer]), 200,
                             f->layer[layer]);
    drop->body_len = LAYER_SIZE;
    drop->send_only = LAYER_SIZE / 3;
    drop->times = 1;
    return drop;
}

/* A server that ignores Range: the retry asks for the rest, gets the
 * whole blob, and starts over. */
static void retries_a_dropped_connection(void **state)
{
    fx *f = *state;
    fake_route *drop = dropping_route(f, 1);
    image_routes(f, NULL);
    expect_pulled(f);
    assert_int_equal(atomic_load(&drop->hits), 1);
    fake_route *full = &f->routes[f->n - LAYERS + 1];
    assert_int_equal(atomic_load(&full->hits), 2);
    assert_string_equal(full->seen_range, "");   /* the last request had no range */
}

/* A server that honours Range: only the missing part is sent again. */
static void resumes_a_dropped_download_with_a_range(void **state)
{
    fx *f = *state;
    fake_route *drop = dropping_route(f, 1);
    fake_route *rest = route(f, fmt(f, "/v2/test/blobs/%s", f->layer_digest[1]), 200, f->layer[1]);
    rest->body_len = LAYER_SIZE;
    rest->ranges = 1;
    image_routes(f, NULL);
    sm_pull_progress last = {0};
    sm_pull_options o = {.size = sizeof o, .progress = keep_last, .progress_ctx = &last};
    assert_int_equal(sm_image_pull(f->ref, &o, NULL), 0);
    expect_pulled(f);
    assert_int_equal(atomic_load(&drop->hits), 1);
    assert_int_equal(atomic_load(&rest->hits), 1);
    char want[64];
    snprintf(want, sizeof want, "bytes=%d-", LAYER_SIZE / 3);
    assert_string_equal(rest->seen_range, want);
    assert_int_equal(last.bytes_done, (uint64_t)LAYERS * LAYER_SIZE);
}

static void gives_up_after_repeated_server_errors(void **state)
{
    fx *f = *state;
    fake_route *down = route(f, "/v2/test/manifests/1", 500,
                             "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"db down\"}]}");
    image_routes(f, NULL);
    expect_failure(f, "HTTP 500, UNKNOWN: db down");
    assert_int_equal(atomic_load(&down->hits), SM_HTTP_ATTEMPTS);
}

static void manifest_that_is_not_json(void **state)
{
    fx *f = *state;
    route(f, "/v2/test/manifests/1", 200, "<html>not a manifest</html>");
    image_routes(f, NULL);
    expect_failure(f, "is not valid JSON");
    char digest[SM_DIGEST_STR];
    sm_digest_of("<html>not a manifest</html>", 27, digest);
    assert_false(has_blob(f, digest));
}

static void manifest_not_matching_its_digest_header(void **state)
{
    fx *f = *state;
    route(f, "/v2/test/manifests/1", 200, f->manifest)->headers =
        "Docker-Content-Digest: sha256:0000000000000000000000000000000000000000000000000000000000000000\r\n";
    image_routes(f, NULL);
    expect_failure(f, "does not match its digest");
    assert_false(has_blob(f, f->manifest_digest));
}

static void layer_not_matching_its_digest(void **state)
{
    fx *f = *state;
    char *evil = own(f, malloc(LAYER_SIZE));
    memset(evil, 'x', LAYER_SIZE);
    fake_route *r = route(f, fmt(f, "/v2/test/blobs/%s", f->layer_digest[2]), 200, evil);
    r->body_len = LAYER_SIZE;
    image_routes(f, NULL);
    expect_failure(f, "does not match its digest");
    assert_false(has_blob(f, f->layer_digest[2]));
}

static void layer_longer_than_declared(void **state)
{
    fx *f = *state;
    char *big = own(f, calloc(1, LAYER_SIZE + 10));
    fake_route *r = route(f, fmt(f, "/v2/test/blobs/%s", f->layer_digest[0]), 200, big);
    r->body_len = LAYER_SIZE + 10;
    image_routes(f, NULL);
    expect_failure(f, "larger than");
}

static void unknown_tag(void **state)
{
    fx *f = *state;
    route(f, "/v2/", 200, "{}");
    route(f, "/v2/test/manifests/1", 404,
          "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}");
    expect_failure(f, "tag '1' not found");
}

static void progress_counts_every_byte(void **state)
{
    fx *f = *state;
    image_routes(f, NULL);
    sm_pull_progress last = {0};
    sm_pull_options o = {.size = sizeof o, .progress = keep_last, .progress_ctx = &last};
    assert_int_equal(sm_image_pull(f->ref, &o, NULL), 0);
    assert_true(last.finished);
    assert_int_equal(last.layers, LAYERS);
    assert_int_equal(last.layers_done, LAYERS);
    assert_int_equal(last.bytes, (uint64_t)LAYERS * LAYER_SIZE);
    assert_int_equal(last.bytes_done, (uint64_t)LAYERS * LAYER_SIZE);
}

/* kill -9 in the middle of a layer: the store keeps no partial blob as
 * whole, the next pull completes, and gc sweeps the leftover. */
static void killed_mid_download(void **state)
{
    fx *f = *state;
    fake_route *slow = route(f, fmt(f, "/v2/test/blobs/%s", f->layer_digest[0]), 200, f->layer[0]);
    slow->body_len = LAYER_SIZE;
    slow->send_only = LAYER_SIZE / 2;
    slow->stall = 1;
    slow->times = 1;
    image_routes(f, NULL);
    pid_t child = fork();
    if (child == 0)
        _exit(sm_image_pull(f->ref, NULL, NULL) == 0 ? 0 : 1);
    while (atomic_load(&slow->hits) == 0)
        usleep(10000);
    usleep(200000);   /* let it write what it got */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    assert_false(has_blob(f, f->layer_digest[0]));
    assert_int_equal(image_count(), 0);
    assert_int_equal(sm_image_pull(f->ref, NULL, NULL), 0);
    assert_true(has_blob(f, f->layer_digest[0]));
    sm_gc_result r = {.size = sizeof r};
    assert_int_equal(sm_image_gc(&r), 0);
    assert_int_equal(partial_files(f), 0);
    assert_int_equal(image_count(), 1);
}

static void plain_http_only_for_loopback_or_insecure(void **state)
{
    (void)state;
    assert_true(sm_registry_is_loopback("127.0.0.1:5000"));
    assert_true(sm_registry_is_loopback("127.1.2.3"));
    assert_true(sm_registry_is_loopback("localhost:5000"));
    assert_true(sm_registry_is_loopback("[::1]:5000"));
    assert_false(sm_registry_is_loopback("128.0.0.1:5000"));
    assert_false(sm_registry_is_loopback("localhost.example.com"));
    assert_false(sm_registry_is_loopback("[::2]"));
    sm_ref ref;
    sm_registry r;
    sm_credentials none = {0};
    const char *insecure[] = {"registry.lan:5000", NULL};
    assert_int_equal(sm_ref_parse("alpine", &ref), 0);
    assert_int_equal(sm_registry_open(&r, &ref, insecure, &none), 0);
    assert_string_equal(r.base, "https://registry-1.docker.io");
    sm_registry_close(&r);
    assert_int_equal(sm_ref_parse("registry.lan:5000/x", &ref), 0);
    assert_int_equal(sm_registry_open(&r, &ref, insecure, &none), 0);
    assert_string_equal(r.base, "http://registry.lan:5000");
    sm_registry_close(&r);
    assert_int_equal(sm_ref_parse("registry.lan/x", &ref), 0);
    assert_int_equal(sm_registry_open(&r, &ref, insecure, &none), 0);
    assert_string_equal(r.base, "https://registry.lan");
    sm_registry_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(anonymous_bearer_token_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(token_request_names_service_and_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(docker_config_credentials_go_to_the_token_server, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_password_is_one_clear_error, setup, teardown),
        cmocka_unit_test_setup_teardown(identity_token_from_a_helper_is_traded_by_oauth, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(basic_auth_with_given_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(retries_server_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(retries_a_dropped_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(resumes_a_dropped_download_with_a_range, setup, teardown),
        cmocka_unit_test_setup_teardown(gives_up_after_repeated_server_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(manifest_that_is_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(manifest_not_matching_its_digest_header, setup, teardown),
        cmocka_unit_test_setup_teardown(layer_not_matching_its_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(layer_longer_than_declared, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_tag, setup, teardown),
        cmocka_unit_test_setup_teardown(progress_counts_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(killed_mid_download, setup, teardown),
        cmocka_unit_test(plain_http_only_for_loopback_or_insecure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
