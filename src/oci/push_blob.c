/* A push's requests (OCI distribution spec): HEAD a blob to skip it, POST
 * to open an upload and PUT the bytes there in one piece, PUT a manifest. */
#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "oci/push.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define REPLY_MAX (64u << 10)   /* a success's body, which a push ignores */

int sm_push_upload_url(const char *request_url, const char *location, const char *digest,
                       char **out)
{
    CURLU *u = curl_url();
    char query[SM_DIGEST_STR + 8];
    snprintf(query, sizeof query, "digest=%s", digest);
    /* Set over the request's URL, a relative Location resolves against it;
     * a query it already has (a registry's upload state) is kept. */
    bool ok = u && curl_url_set(u, CURLUPART_URL, request_url, 0) == CURLUE_OK &&
              curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
              curl_url_set(u, CURLUPART_QUERY, query, CURLU_APPENDQUERY) == CURLUE_OK;
    char *url = NULL;
    ok = ok && curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK;
    curl_url_cleanup(u);
    *out = ok ? strdup(url) : NULL;
    curl_free(url);
    if (!ok)
        return sm_fail(EPROTO, "the registry gave an upload location that is not a URL: '%s'",
                       location);
    return *out ? 0 : sm_fail(ENOMEM, "out of memory");
}

/* The registry's own words: its JSON errors, or else a short plain-text
 * body ("Method not allowed" from a read-only registry). */
static void refusal_text(const sm_http_response *resp, char *out, size_t len)
{
    sm_http_error_text(resp, out, len);
    size_t n = resp->body ? strcspn(resp->body, "\r\n") : 0;
    if (strchr(out, ',') || !n || n > 200 || strncmp(resp->content_type, "text/plain", 10))
        return;
    size_t used = strlen(out);
    snprintf(out + used, len - used, ", %.*s", (int)n, resp->body);
}

int sm_push_refused(const sm_pusher *p, const sm_http_response *resp, const char *what)
{
    const sm_registry *r = p->reg;
    char text[512];
    refusal_text(resp, text, sizeof text);
    if (resp->status == 401 && !r->have_creds)
        return sm_fail(EACCES, "%s requires a login to push to %s: run 'supermachine login %s' or "
                       "pass a username and password (%s)", r->ref.domain, r->ref.path,
                       r->ref.domain, text);
    char who[300] = "";
    if (r->have_creds)
        snprintf(who, sizeof who, " user '%s'", r->creds.username);
    if (resp->status == 401 || resp->status == 403)
        return sm_fail(EACCES, "%s denied%s pushing to %s (%s)", r->ref.domain, who,
                       r->ref.path, text);
    return sm_fail(EPROTO, "registry %s refused %s: %s", r->ref.domain, what, text);
}

/* 1 when the registry has the blob, 0 when not. */
static int blob_exists(sm_pusher *p, const sm_descriptor *d, const char *what)
{
    char url[sizeof p->reg->base + SM_REF_NAME_MAX + 100];
    snprintf(url, sizeof url, "%s/v2/%s/blobs/%s", p->reg->base, p->reg->ref.path, d->digest);
    sm_http_request req = {.url = url, .method = "HEAD"};
    sm_http_response resp = {0};   /* freed also when no request was made */
    int err = sm_registry_send(p->reg, p->http, &req, &resp);
    if (!err && resp.status != 200 && resp.status != 404)
        err = sm_push_refused(p, &resp, what);
    int there = resp.status == 200;
    sm_http_response_free(&resp);
    return err ? err : there;
}

/* POST .../blobs/uploads/: where the bytes go, in *location (freed by
 * the caller), already joined with the digest. */
static int open_upload(sm_pusher *p, const sm_descriptor *d, const char *what, char **location)
{
    char url[sizeof p->reg->base + SM_REF_NAME_MAX + 32];
    snprintf(url, sizeof url, "%s/v2/%s/blobs/uploads/", p->reg->base, p->reg->ref.path);
    sm_http_request req = {.url = url, .method = "POST", .max_body = REPLY_MAX};
    sm_http_response resp = {0};
    int err = sm_registry_send(p->reg, p->http, &req, &resp);
    if (!err && resp.status != 202)
        err = sm_push_refused(p, &resp, what);
    else if (!err && !resp.location)
        err = sm_fail(EPROTO, "registry %s opened an upload for %s without saying where "
                      "(no Location)", p->reg->ref.domain, what);
    if (!err)
        err = sm_push_upload_url(url, resp.location, d->digest, location);
    sm_http_response_free(&resp);
    return err;
}

static void on_sent(void *ctx, uint64_t offset)
{
    sm_pusher *p = ctx;
    p->progress.bytes_done = p->blob_base + offset;
    sm_push_report(p, 0);
}

/* The stored file, checked against the size its descriptor gives. */
static int stored_path(const sm_pusher *p, const sm_descriptor *d, const char *what,
                       char *path, size_t len)
{
    struct stat st;
    sm_store_blob_path(p->store, d->digest, path, len);
    if (stat(path, &st) < 0)
        return sm_fail(ENOENT, "%s is not in the image store (%s), so it cannot be pushed; "
                       "pull or load the image again", what, d->digest);
    if ((int64_t)st.st_size != d->size)
        return sm_fail(EBADMSG, "%s is %lld bytes in the image store, but its descriptor "
                       "says %lld", what, (long long)st.st_size, (long long)d->size);
    return 0;
}

/* The Location is the registry's to give: one on another host (or over
 * plain HTTP from an HTTPS registry) gets the bytes but never the
 * registry's credentials. */
static bool same_origin(const sm_registry *r, const char *url)
{
    size_t n = strlen(r->base);
    return !strncmp(url, r->base, n) && url[n] == '/';
}

static int upload(sm_pusher *p, const sm_descriptor *d, const char *what, const char *path)
{
    char *url;
    int err = open_upload(p, d, what, &url);
    if (err)
        return err;
    sm_http_request req = {.url = url, .method = "PUT", .upload_file = path,
                           .upload_len = (uint64_t)d->size, .sent = on_sent, .ctx = p,
                           .content_type = "application/octet-stream", .max_body = REPLY_MAX};
    sm_http_response resp = {0};
    if (same_origin(p->reg, url)) {
        err = sm_registry_send(p->reg, p->http, &req, &resp);
    } else {
        sm_debug("push: %s goes to %s, without the registry's credentials", what, url);
        err = sm_http_get(p->http, &req, &resp);
    }
    free(url);
    if (!err && resp.status != 201 && resp.status != 204)
        err = sm_push_refused(p, &resp, what);
    sm_http_response_free(&resp);
    return err;
}

int sm_push_blob(sm_pusher *p, const sm_descriptor *d, const char *what)
{
    char path[PATH_MAX];
    int err = stored_path(p, d, what, path, sizeof path);
    int there = err ? err : blob_exists(p, d, what);
    if (there < 0)
        return there;
    p->blob_base = p->progress.bytes_done;
    if (!there && (err = upload(p, d, what, path)))
        return err;
    sm_debug("push: %s %s", there ? "registry has" : "uploaded", d->digest);
    p->progress.bytes_done = p->blob_base + (uint64_t)d->size;
    p->progress.blobs_done++;
    p->progress.blobs_uploaded += !there;
    sm_push_report(p, 0);
    return 0;
}

int sm_push_manifest(sm_pusher *p, const char *digest, const char *media_type,
                     const char *reference, const char *what)
{
    char *body, url[sizeof p->reg->base + 2 * SM_REF_NAME_MAX + 32];
    size_t len;
    int err = sm_store_read_blob(p->store, digest, SM_MANIFEST_MAX, &body, &len);
    if (err)
        return sm_fail_context(err, "%s", what);
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", p->reg->base, p->reg->ref.path,
             reference);
    sm_http_request req = {.url = url, .method = "PUT", .upload_data = body, .upload_len = len,
                           .content_type = media_type, .max_body = REPLY_MAX};
    sm_http_response resp = {0};
    err = sm_registry_send(p->reg, p->http, &req, &resp);
    free(body);
    if (!err && resp.status != 201 && resp.status != 200 && resp.status != 204)
        err = sm_push_refused(p, &resp, what);
    /* The bytes are ours, so the digest is; a registry that says otherwise
     * rewrote the manifest, and the image would not be the one pushed. */
    else if (!err && sm_digest_valid(resp.content_digest) && strcmp(resp.content_digest, digest))
        err = sm_fail(EBADMSG, "registry %s stored %s as %s, not as its digest %s",
                      p->reg->ref.domain, what, resp.content_digest, digest);
    sm_http_response_free(&resp);
    return err;
}

void sm_push_report(sm_pusher *p, int finished)
{
    uint64_t now = sm_now_ns();
    if (!p->report || (!finished && now - p->last_report_ns < 100 * 1000000ull))
        return;
    p->last_report_ns = now;
    p->progress.finished = finished;
    p->report(&p->progress, p->report_ctx);
}
