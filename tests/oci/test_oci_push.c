/* sm_image_push against a fake registry: where an upload's bytes go (the
 * Location forms registries send), the requests a push makes and in what
 * order, the bearer token's scope, and what it does with a refusal. */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fake_http.h"
#include "oci/push.h"
#include "oci/store.h"
#include "oci/store_index.h"
#include "supermachine.h"

#define LAYERS 2

/* --- sm_push_upload_url --------------------------------------------------- */

static void expect_url(const char *location, const char *want)
{
    char *url = NULL;
    const char *d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    int err = sm_push_upload_url("http://127.0.0.1:5000/v2/a/b/blobs/uploads/", location, d, &url);
    if (err)
        fail_msg("'%s': %s", location, sm_last_error());
    char full[512];
    snprintf(full, sizeof full, "%s%cdigest=%s", want, strchr(want, '?') ? '&' : '?', d);
    assert_string_equal(url, full);
    free(url);
}

static void upload_url_forms(void **state)
{
    (void)state;
    /* An absolute URL, as docker-registry sends, even on another host. */
    expect_url("http://127.0.0.1:5000/v2/a/b/blobs/uploads/u1?_state=xyz",
               "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u1?_state=xyz");
    expect_url("https://storage.example.com/up/u1", "https://storage.example.com/up/u1");
    /* An absolute path, as many registries send: on the request's host. */
    expect_url("/v2/a/b/blobs/uploads/u2", "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u2");
    expect_url("/v2/a/b/blobs/uploads/u2?_state=a%3Db&x=1",
               "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u2?_state=a%3Db&x=1");
    /* A relative path resolves against the POST's URL. */
    expect_url("u3?s=1", "http://127.0.0.1:5000/v2/a/b/blobs/uploads/u3?s=1");
}

static void upload_url_bad(void **state)
{
    (void)state;
    char *url = (char *)"untouched";
    assert_int_equal(sm_push_upload_url("http://127.0.0.1:5000/v2/", "http://[::1", "sha256:00",
                                        &url), -EPROTO);
    assert_null(url);
    assert_non_null(strstr(sm_last_error(), "not a URL"));
}

/* --- a push against the fake ------------------------------------------------ */

typedef struct fx {
    char dir[256];
    fake_http srv;
    fake_route routes[32];
    size_t n;
    char *owned[64];
    size_t nowned;
    char config[256], manifest[1024];
    char layer[LAYERS][4096];
    char config_digest[SM_DIGEST_STR], manifest_digest[SM_DIGEST_STR];
    char layer_digest[LAYERS][SM_DIGEST_STR];
    char ref[128];
} fx;

static char *fmt(fx *f, const char *format, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(fx *f, const char *format, ...)
{
    va_list ap;
    char *s;
    va_start(ap, format);
    assert_true(vasprintf(&s, format, ap) >= 0);
    va_end(ap);
    f->owned[f->nowned++] = s;
    return s;
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

/* The image, stored as a pull would leave it, named f->ref. */
static void store_image(fx *f)
{
    sm_store s;
    assert_int_equal(sm_store_open(&s, NULL, SM_STORE_SHARED), 0);
    snprintf(f->config, sizeof f->config, "{\"architecture\":\"amd64\",\"os\":\"linux\","
             "\"rootfs\":{\"type\":\"layers\"}}");
    assert_int_equal(sm_store_put_blob(&s, "config", f->config, strlen(f->config), NULL,
                                       f->config_digest), 0);
    char items[LAYERS][200];
    for (int i = 0; i < LAYERS; i++) {
        memset(f->layer[i], 'a' + i, sizeof f->layer[i]);
        assert_int_equal(sm_store_put_blob(&s, "layer", f->layer[i], sizeof f->layer[i], NULL,
                                           f->layer_digest[i]), 0);
        snprintf(items[i], sizeof items[i], "%s{\"mediaType\":\"application/vnd.oci.image."
                 "layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}", i ? "," : "",
                 f->layer_digest[i], sizeof f->layer[i]);
    }
    /* Spaced oddly on purpose: the bytes sent must be these, not a re-encoding. */
    snprintf(f->manifest, sizeof f->manifest, "{ \"schemaVersion\": 2, \"mediaType\": "
             "\"application/vnd.oci.image.manifest.v1+json\", \"config\": {\"mediaType\":"
             "\"application/vnd.oci.image.config.v1+json\",\"digest\":\"%s\",\"size\":%zu},"
             "\"layers\":[%s%s]}", f->config_digest, strlen(f->config), items[0], items[1]);
    assert_int_equal(sm_store_put_blob(&s, "manifest", f->manifest, strlen(f->manifest), NULL,
                                       f->manifest_digest), 0);
    sm_index_entry e = {.stored = (int64_t)time(NULL)};
    snprintf(e.name, sizeof e.name, "%s", f->ref);
    snprintf(e.manifest, sizeof e.manifest, "%s", f->manifest_digest);
    assert_int_equal(sm_index_put(&s, &e), 0);
    sm_store_close(&s);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-push-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[300];
    snprintf(path, sizeof path, "%s/store", f->dir);
    setenv("SUPERMACHINE_DATA_DIR", path, 1);
    snprintf(path, sizeof path, "%s/docker", f->dir);
    setenv("DOCKER_CONFIG", path, 1);   /* none: never the user's own */
    fake_http_start(&f->srv, f->routes, 0);
    snprintf(f->ref, sizeof f->ref, "127.0.0.1:%d/team/app:2", f->srv.port);
    store_image(f);
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

/* A token server that answers only the scope a push must ask for, and a
 * registry that takes only its token. */
static const char *bearer_routes(fx *f)
{
    const char *auth = "Bearer tok";
    route(f, "/v2/", 200, "{}")->auth = auth;
    fake_route *r = route(f, "/v2/", 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
    r->headers = fmt(f, "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:%d/token\","
                     "service=\"fake\"\r\n", f->srv.port);
    route(f, "/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull%2Cpush", 200,
          "{\"token\":\"tok\"}");
    return auth;
}

static void push_uploads_missing_blobs(void **state)
{
    fx *f = *state;
    const char *auth = bearer_routes(f);
    /* The registry has the config; the layers go up, each to the place
     * its POST's Location names, with the upload state kept. */
    route(f, fmt(f, "/v2/team/app/blobs/%s", f->config_digest), 200, "")->auth = auth;
    fake_route *post = route(f, "/v2/team/app/blobs/uploads/", 202, "");
    post->auth = auth;
    post->headers = "Location: /v2/team/app/blobs/uploads/u1?_state=s1\r\n";
    fake_route *put[LAYERS];
    for (int i = 0; i < LAYERS; i++) {
        route(f, fmt(f, "/v2/team/app/blobs/%s", f->layer_digest[i]), 404, "")->auth = auth;
        put[i] = route(f, fmt(f, "/v2/team/app/blobs/uploads/u1?_state=s1&digest=%s",
                              f->layer_digest[i]), 201, "");
        put[i]->auth = auth;
    }
    fake_route *m = route(f, "/v2/team/app/manifests/2", 201, "");
    m->auth = auth;
    m->headers = fmt(f, "Docker-Content-Digest: %s\r\n", f->manifest_digest);
    sm_image_ref out = SM_IMAGE_REF_INIT;
    if (sm_image_push(f->ref, NULL, &out))
        fail_msg("push failed: %s", sm_last_error());
    assert_string_equal(out.name, f->ref);
    assert_string_equal(out.digest, f->manifest_digest);
    assert_int_equal(atomic_load(&post->hits), LAYERS);
    for (int i = 0; i < LAYERS; i++) {
        assert_int_equal(atomic_load(&put[i]->hits), 1);
        assert_string_equal(put[i]->seen_method, "PUT");
        assert_int_equal(strspn(put[i]->seen_body, (char[]){(char)('a' + i), 0}), 1023);
    }
    assert_string_equal(m->seen_method, "PUT");
    assert_string_equal(m->seen_body, f->manifest);
}

/* An upload Location on another host (localhost is not 127.0.0.1) gets
 * the bytes, but never the registry's token. */
static void push_keeps_credentials_home(void **state)
{
    fx *f = *state;
    const char *auth = bearer_routes(f);
    route(f, fmt(f, "/v2/team/app/blobs/%s", f->config_digest), 200, "")->auth = auth;
    fake_route *post = route(f, "/v2/team/app/blobs/uploads/", 202, "");
    post->auth = auth;
    post->headers = fmt(f, "Location: http://localhost:%d/elsewhere/u2?x=1\r\n", f->srv.port);
    fake_route *put[LAYERS];
    for (int i = 0; i < LAYERS; i++) {
        route(f, fmt(f, "/v2/team/app/blobs/%s", f->layer_digest[i]), 404, "")->auth = auth;
        put[i] = route(f, fmt(f, "/elsewhere/u2?x=1&digest=%s", f->layer_digest[i]), 201, "");
    }
    fake_route *m = route(f, "/v2/team/app/manifests/2", 201, "");
    m->auth = auth;
    m->headers = fmt(f, "Docker-Content-Digest: %s\r\n", f->manifest_digest);
    if (sm_image_push(f->ref, NULL, NULL))
        fail_msg("push failed: %s", sm_last_error());
    for (int i = 0; i < LAYERS; i++) {
        assert_int_equal(atomic_load(&put[i]->hits), 1);
        assert_string_equal(put[i]->seen_auth, "");
    }
    assert_string_equal(m->seen_auth, auth);
}

static void progress(const sm_push_progress *p, void *ctx)
{
    *(sm_push_progress *)ctx = *p;
}

static void push_skips_what_is_there(void **state)
{
    fx *f = *state;
    const char *auth = bearer_routes(f);
    route(f, fmt(f, "/v2/team/app/blobs/%s", f->config_digest), 200, "")->auth = auth;
    for (int i = 0; i < LAYERS; i++)
        route(f, fmt(f, "/v2/team/app/blobs/%s", f->layer_digest[i]), 200, "")->auth = auth;
    fake_route *post = route(f, "/v2/team/app/blobs/uploads/", 500, "");
    route(f, "/v2/team/app/manifests/2", 201, "")->auth = auth;
    sm_push_progress last = {0};
    sm_push_options o = {.size = sizeof o, .progress = progress, .progress_ctx = &last};
    if (sm_image_push(f->ref, &o, NULL))
        fail_msg("push failed: %s", sm_last_error());
    assert_int_equal(atomic_load(&post->hits), 0);
    assert_int_equal(last.finished, 1);
    assert_int_equal(last.blobs, LAYERS + 1);
    assert_int_equal(last.blobs_done, LAYERS + 1);
    assert_int_equal(last.blobs_uploaded, 0);
    assert_true(last.bytes == last.bytes_done && last.bytes > 0);
}

/* A registry that rewrites the manifest gives it another digest: the
 * image there would not be the one pushed. */
static void push_refuses_a_changed_digest(void **state)
{
    fx *f = *state;
    route(f, "/v2/", 200, "{}");
    route(f, fmt(f, "/v2/team/app/blobs/%s", f->config_digest), 200, "");
    for (int i = 0; i < LAYERS; i++)
        route(f, fmt(f, "/v2/team/app/blobs/%s", f->layer_digest[i]), 200, "");
    route(f, "/v2/team/app/manifests/2", 201, "")->headers =
        fmt(f, "Docker-Content-Digest: sha256:%064d\r\n", 0);
    assert_int_equal(sm_image_push(f->ref, NULL, NULL), -EBADMSG);
    assert_non_null(strstr(sm_last_error(), "not as its digest"));
}

static void push_says_what_the_registry_said(void **state)
{
    fx *f = *state;
    route(f, "/v2/", 200, "{}");
    route(f, fmt(f, "/v2/team/app/blobs/%s", f->config_digest), 200, "");
    for (int i = 0; i < LAYERS; i++)
        route(f, fmt(f, "/v2/team/app/blobs/%s", f->layer_digest[i]), 200, "");
    route(f, "/v2/team/app/manifests/2", 400,
          "{\"errors\":[{\"code\":\"MANIFEST_INVALID\",\"message\":\"manifest invalid\"}]}");
    assert_int_equal(sm_image_push(f->ref, NULL, NULL), -EPROTO);
    const char *msg = sm_last_error();
    if (!strstr(msg, "refused the manifest of") ||
        !strstr(msg, "HTTP 400, MANIFEST_INVALID: manifest invalid"))
        fail_msg("unexpected error: %s", msg);
    assert_null(strchr(msg, '\n'));
}

static void push_denied(void **state)
{
    fx *f = *state;
    route(f, "/v2/", 200, "{}");
    route(f, fmt(f, "/v2/team/app/blobs/%s", f->config_digest), 404, "");
    route(f, "/v2/team/app/blobs/uploads/", 403,
          "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"requested access to the resource "
          "is denied\"}]}");
    assert_int_equal(sm_image_push(f->ref, NULL, NULL), -EACCES);
    assert_non_null(strstr(sm_last_error(), "denied pushing to team/app"));
}

static void push_needs_a_stored_name(void **state)
{
    fx *f = *state;
    char ref[160];
    snprintf(ref, sizeof ref, "127.0.0.1:%d/team/other:2", f->srv.port);
    assert_int_equal(sm_image_push(ref, NULL, NULL), -ENOENT);
    assert_non_null(strstr(sm_last_error(), "in the store to push"));
    /* A prefix of the image's digest is no name to push to. */
    assert_int_equal(sm_image_push(f->manifest_digest + 7, NULL, NULL), -ENOENT);
    assert_string_equal(f->srv.last_target, "");   /* the registry was not asked */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upload_url_forms),
        cmocka_unit_test(upload_url_bad),
        cmocka_unit_test_setup_teardown(push_uploads_missing_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(push_keeps_credentials_home, setup, teardown),
        cmocka_unit_test_setup_teardown(push_skips_what_is_there, setup, teardown),
        cmocka_unit_test_setup_teardown(push_refuses_a_changed_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(push_says_what_the_registry_said, setup, teardown),
        cmocka_unit_test_setup_teardown(push_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(push_needs_a_stored_name, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
