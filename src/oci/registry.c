#include "oci/registry.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/error.h"
#include "util/test_point.h"
#include "util/log.h"

/* The host part of "host", "host:port", "[v6]:port". */
static void host_of(const char *domain, char *out, size_t len)
{
    if (domain[0] == '[') {
        size_t n = strcspn(domain + 1, "]");
        snprintf(out, len, "%.*s", (int)n, domain + 1);
        return;
    }
    snprintf(out, len, "%.*s", (int)strcspn(domain, ":"), domain);
}

bool sm_registry_is_loopback(const char *domain)
{
    char host[SM_REF_NAME_MAX];
    host_of(domain, host, sizeof host);
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcasecmp(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool named_insecure(const char *domain, const char *const *insecure)
{
    for (; insecure && *insecure; insecure++)
        if (!strcmp(*insecure, domain))
            return true;
    return false;
}

int sm_registry_open(sm_registry *r, const sm_ref *ref, const char *const *insecure,
                     const sm_credentials *creds)
{
    memset(r, 0, sizeof *r);
    r->ref = *ref;
    r->plain_http_ok = sm_registry_is_loopback(ref->domain) || named_insecure(ref->domain, insecure);
    /* Docker Hub's API lives on another host than its name. */
    const char *api = strcmp(ref->domain, "docker.io") ? ref->domain : "registry-1.docker.io";
    int err = sm_tls_load(api, &r->tls);
    if (err)
        return err;
    bool https = !r->plain_http_ok || r->tls.present;
    snprintf(r->base, sizeof r->base, "%s://%s", https ? "https" : "http", api);
    if (creds) {
        r->creds = *creds;
        r->have_creds = true;
    } else {
        int found = sm_docker_credentials(ref->domain, &r->creds);
        if (found < 0) {
            sm_tls_free(&r->tls);
            return found;
        }
        r->have_creds = found == 1;
    }
    pthread_mutex_init(&r->lock, NULL);
    return 0;
}

void sm_registry_close(sm_registry *r)
{
    pthread_mutex_destroy(&r->lock);
    sm_tls_free(&r->tls);
    free(r->authorization);
    r->authorization = NULL;
}

static bool is_plain_http(const char *url)
{
    return !strncasecmp(url, "http://", 7);
}

/* A scope of no repository ("repository::pull") is a login's check
 * (sm_registry_ping): as docker login, it asks for no scope at all, only
 * whether the token server takes the credentials. */
static int token_url(sm_http *h, const sm_challenge *c, const char *scope, char *out, size_t len)
{
    char *service = curl_easy_escape(h->curl, c->service, 0);
    char *sc = curl_easy_escape(h->curl, scope, 0);
    bool none = !strncmp(scope, "repository::", 12);
    int n = snprintf(out, len, "%s%sservice=%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?",
                     service ? service : "", none ? "" : "&scope=", none || !sc ? "" : sc);
    curl_free(service);
    curl_free(sc);
    if (n < 0 || (size_t)n >= len)
        return sm_fail(ENAMETOOLONG, "the token server address is too long");
    return 0;
}

static int refused(const sm_registry *r, const char *by)
{
    if (r->have_creds && r->creds.identity_token)
        return sm_fail(EACCES, "%s rejected the identity token for %s that the credential "
                       "helper gave; run 'supermachine login %s' again", by, r->ref.domain,
                       r->ref.domain);
    if (r->have_creds)
        return sm_fail(EACCES, "%s rejected the username or password for %s (user '%s'); "
                       "check the credentials", by, r->ref.domain, r->creds.username);
    return sm_fail(EACCES, "%s requires a login: run 'supermachine login %s' or pass a "
                   "username and password", r->ref.domain, r->ref.domain);
}

/* The OAuth2 form that trades an identity token (a refresh token from a
 * credential helper) for an access token, as docker sends it. */
static char *refresh_form(sm_http *h, const sm_challenge *c, const char *scope,
                          const char *refresh_token)
{
    char *service = curl_easy_escape(h->curl, c->service, 0);
    char *sc = curl_easy_escape(h->curl, scope, 0);
    char *token = curl_easy_escape(h->curl, refresh_token, 0);
    char *form = NULL;
    if (service && sc && token &&
        asprintf(&form, "grant_type=refresh_token&client_id=supermachine&service=%s&scope=%s"
                 "&refresh_token=%s", service, sc, token) < 0)
        form = NULL;
    curl_free(service);
    curl_free(sc);
    curl_free(token);
    return form;
}

/* Fetch a bearer token for pulling from (or pushing to) our repository: a
 * GET with the username and password (or none), or the OAuth2 POST of an
 * identity token. A push asks for both rights whatever the challenge
 * names, as a token for one request's scope would not last the push. */
static int get_token(sm_registry *r, sm_http *h, const sm_challenge *c, char **token)
{
    char scope[SM_REF_NAME_MAX + 32], url[4096], basic[SM_BASIC_AUTH_MAX];
    snprintf(scope, sizeof scope, "repository:%s:%s", r->ref.path, r->push ? "pull,push" : "pull");
    const char *want = c->scope[0] && !r->push ? c->scope : scope;
    bool oauth = r->have_creds && r->creds.identity_token;
    int err = oauth ? (snprintf(url, sizeof url, "%s", c->realm), 0)
                    : token_url(h, c, want, url, sizeof url);
    if (err)
        return err;
    bool send_creds = r->have_creds;
    if (send_creds && is_plain_http(c->realm) && !r->plain_http_ok)
        return sm_fail(EPERM, "the token server of %s is plain HTTP (%s); refusing to send "
                       "credentials there", r->ref.domain, c->realm);
    if (send_creds && !oauth)
        sm_basic_authorization(&r->creds, basic, sizeof basic);
    sm_http_request req = {.url = url, .authorization = send_creds && !oauth ? basic : NULL,
                           .accept = "application/json", .max_body = 1u << 20,
                           .tls = &r->tls};
    if (oauth && !(req.post_form = refresh_form(h, c, want, r->creds.password)))
        return sm_fail(ENOMEM, "out of memory");
    sm_http_response resp;
    err = sm_http_get(h, &req, &resp);
    free((char *)req.post_form);
    if (!err && (resp.status == 401 || resp.status == 403 || (oauth && resp.status == 400)))
        err = refused(r, "the token server");
    else if (!err && resp.status != 200) {
        char text[512];
        sm_http_error_text(&resp, text, sizeof text);
        err = sm_fail(EPROTO, "the token server %s failed: %s", c->realm, text);
    }
    if (!err)
        err = sm_token_parse(resp.body, resp.body_len, c->realm, token);
    sm_http_response_free(&resp);
    return err;
}

/* Answer a 401's challenge; called with r->lock held. */
static int authenticate(sm_registry *r, sm_http *h, const char *header)
{
    sm_challenge c;
    if (!header)
        return refused(r, r->ref.domain);
    int err = sm_challenge_parse(header, &c);
    if (err)
        return err;
    char *value = NULL;
    if (!strcasecmp(c.scheme, "basic")) {
        if (!r->have_creds || r->authorization)
            return refused(r, r->ref.domain);
        if (r->creds.identity_token)
            return sm_fail(EACCES, "%s asks for a password, but the credential helper gave "
                           "only an identity token for it", r->ref.domain);
        if (!(value = malloc(SM_BASIC_AUTH_MAX)))
            return sm_fail(ENOMEM, "out of memory");
        sm_basic_authorization(&r->creds, value, SM_BASIC_AUTH_MAX);
    } else if (!strcasecmp(c.scheme, "bearer")) {
        char *token = NULL;
        if ((err = get_token(r, h, &c, &token)))
            return err;
        size_t n = strlen(token) + 8;
        if ((value = malloc(n)))
            snprintf(value, n, "Bearer %s", token);
        free(token);
        if (!value)
            return sm_fail(ENOMEM, "out of memory");
    } else {
        return sm_fail(ENOTSUP, "%s asks for %s authentication, which is not supported",
                       r->ref.domain, c.scheme);
    }
    free(r->authorization);
    r->authorization = value;
    r->auth_generation++;
    return 0;
}

/* GET with our credentials; a 401 is answered once (token expiry, new
 * scope) and then returned as the response. */
static int send_authorized(sm_registry *r, sm_http *h, sm_http_request *req,
                           sm_http_response *resp)
{
    for (int tries = 0; ; tries++) {
        pthread_mutex_lock(&r->lock);
        char *auth = r->authorization ? strdup(r->authorization) : NULL;
        unsigned gen = r->auth_generation;
        pthread_mutex_unlock(&r->lock);
        req->authorization = auth;
        req->tls = &r->tls;
        int err = sm_http_get(h, req, resp);
        req->authorization = NULL;
        free(auth);
        if (err || resp->status != 401 || tries == 1)
            return err;
        pthread_mutex_lock(&r->lock);
        /* Another thread may have renewed it meanwhile. */
        err = gen == r->auth_generation ? authenticate(r, h, resp->www_authenticate) : 0;
        pthread_mutex_unlock(&r->lock);
        if (err) {
            sm_http_response_free(resp);
            return err;
        }
        sm_http_response_free(resp);
    }
}

/* GET /v2/: is this a registry, and what authentication does it want? */
static int probe(sm_registry *r, sm_http *h)
{
    pthread_mutex_lock(&r->lock);
    bool done = r->probed;
    pthread_mutex_unlock(&r->lock);
    if (done)
        return 0;
    char url[sizeof r->base + 8];
    snprintf(url, sizeof url, "%s/v2/", r->base);
    sm_http_request req = {.url = url, .max_body = 1u << 20};
    sm_http_response resp;
    int err = send_authorized(r, h, &req, &resp);
    if (!err && resp.status == 401)
        err = refused(r, r->ref.domain);
    else if (!err && resp.status == 404)
        err = sm_fail(EPROTO, "%s is not a container registry (%s answers 404)", r->ref.domain, url);
    else if (!err && resp.status != 200) {
        char text[512];
        sm_http_error_text(&resp, text, sizeof text);
        err = sm_fail(EPROTO, "registry %s failed: %s", r->ref.domain, text);
    }
    sm_http_response_free(&resp);
    if (!err) {
        pthread_mutex_lock(&r->lock);
        r->probed = true;
        pthread_mutex_unlock(&r->lock);
    }
    return err;
}

int sm_registry_send(sm_registry *r, sm_http *h, sm_http_request *req, sm_http_response *resp)
{
    int err = probe(r, h);
    return err ? err : send_authorized(r, h, req, resp);
}

static int status_error(const sm_registry *r, const sm_http_response *resp, const char *what)
{
    char text[512];
    sm_http_error_text(resp, text, sizeof text);
    if (resp->status == 404)
        return sm_fail(ENOENT, "%s not found in %s/%s (%s)", what, r->ref.domain, r->ref.path, text);
    if (resp->status == 401 || resp->status == 403)
        return sm_fail(EACCES, "access to %s/%s denied: the repository does not exist or needs "
                       "credentials (%s)", r->ref.domain, r->ref.path, text);
    return sm_fail(EPROTO, "registry %s failed to send %s: %s", r->ref.domain, what, text);
}

static int check_manifest_digest(const char *reference, const char *header, const char *body,
                                 size_t len, const char *what, char digest[SM_DIGEST_STR])
{
    sm_digest_of(body, len, digest);
    const char *expect = sm_digest_valid(reference) ? reference
                       : sm_digest_valid(header) ? header : NULL;
    if (expect && strcmp(expect, digest) != 0)
        return sm_fail(EBADMSG, "%s does not match its digest: expected %s, got %s", what,
                       expect, digest);
    return 0;
}

int sm_registry_get_manifest(sm_registry *r, sm_http *h, const char *reference,
                             char **body, size_t *len, char content_type[128],
                             char digest[SM_DIGEST_STR])
{
    char url[sizeof r->base + 2 * SM_REF_NAME_MAX], what[SM_REF_NAME_MAX + 100];
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", r->base, r->ref.path, reference);
    snprintf(what, sizeof what, sm_digest_valid(reference) ? "manifest %s" : "tag '%s'", reference);
    int err = probe(r, h);
    if (err)
        return err;
    sm_http_request req = {.url = url, .accept = SM_MANIFEST_ACCEPT, .max_body = SM_MANIFEST_MAX};
    sm_http_response resp;
    err = send_authorized(r, h, &req, &resp);
    if (!err && resp.status != 200)
        err = status_error(r, &resp, what);
    snprintf(what, sizeof what, "the manifest '%s' of %s/%s", reference, r->ref.domain, r->ref.path);
    if (!err)
        err = check_manifest_digest(reference, resp.content_digest, resp.body ? resp.body : "",
                                    resp.body_len, what, digest);
    if (!err) {
        snprintf(content_type, 128, "%s", resp.content_type);
        *body = resp.body ? resp.body : strdup("");
        *len = resp.body_len;
        resp.body = NULL;
    }
    sm_http_response_free(&resp);
    return err;
}

typedef struct blob_sink {
    sm_blob_writer *w;
    _Atomic uint64_t *bytes_done;
    uint64_t mine;
    sm_file_feed *feed;
} blob_sink;

static int sink_write(void *ctx, const void *data, size_t len)
{
    blob_sink *b = ctx;
    int err = sm_blob_writer_write(b->w, data, len);
    if (!err && b->bytes_done)
        atomic_fetch_add(b->bytes_done, len);
    if (!err && !b->mine)
        sm_test_point("download");
    b->mine += err ? 0 : len;
    if (!err && b->feed)
        sm_file_feed_grow(b->feed, len);
    return err;
}

/* All of it received, yet dropped: nothing is left to ask a range for. */
static uint64_t sink_offset(void *ctx)
{
    const sm_blob_writer *w = ((blob_sink *)ctx)->w;
    return w->expect_size < 0 || w->written < (uint64_t)w->expect_size ? w->written : 0;
}

static int sink_restart(void *ctx)
{
    blob_sink *b = ctx;
    if (b->bytes_done)
        atomic_fetch_sub(b->bytes_done, b->mine);
    b->mine = 0;
    if (b->feed)
        sm_file_feed_restart(b->feed);
    return sm_blob_writer_reset(b->w);
}

int sm_registry_get_blob(sm_registry *r, sm_http *h, const sm_store *s, const sm_descriptor *d,
                         const char *what, _Atomic uint64_t *bytes_done, atomic_int *cancel,
                         sm_file_feed *feed)
{
    int err = probe(r, h);
    if (err)
        return err;
    char url[sizeof r->base + SM_REF_NAME_MAX + 100];
    snprintf(url, sizeof url, "%s/v2/%s/blobs/%s", r->base, r->ref.path, d->digest);
    sm_blob_writer w;
    if ((err = sm_blob_writer_open(&w, s, what, d->digest, d->size)))
        return err;
    if (feed && (err = sm_file_feed_attach(feed, w.fd))) {
        sm_blob_writer_abort(&w);
        return err;
    }
    blob_sink sink = {.w = &w, .bytes_done = bytes_done, .feed = feed};
    sm_http_request req = {.url = url, .sink = sink_write, .restart = sink_restart,
                           .resume_offset = sink_offset, .ctx = &sink, .cancel = cancel};
    sm_http_response resp;
    err = send_authorized(r, h, &req, &resp);
    /* 206: the rest of a download resumed after a dropped connection. */
    if (!err && resp.status != 200 && resp.status != 206)
        err = status_error(r, &resp, what);
    sm_http_response_free(&resp);
    if (err) {
        if (bytes_done)
            atomic_fetch_sub(bytes_done, sink.mine);
        sm_blob_writer_abort(&w);
        return err;
    }
    sm_debug("stored %s (%" PRIu64 " bytes)", d->digest, w.written);
    return sm_blob_writer_commit(&w, NULL);
}

int sm_registry_ping(sm_registry *r, sm_http *h)
{
    return probe(r, h);
}
