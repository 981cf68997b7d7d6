#include "oci/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/error.h"
#include "util/log.h"

#define ERROR_BODY_MAX 1024

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

/* curl_global_init is not thread-safe; the library is. */
static void init_curl(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int sm_http_init(sm_http *h)
{
    pthread_once(&curl_once, init_curl);
    h->curl = curl_init_result == CURLE_OK ? curl_easy_init() : NULL;
    if (!h->curl)
        return sm_fail(ENOMEM, "cannot initialise libcurl");
    return 0;
}

void sm_http_free(sm_http *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    h->curl = NULL;
}

void sm_http_response_free(sm_http_response *r)
{
    free(r->www_authenticate);
    free(r->location);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* State of one attempt. */
typedef struct transfer {
    CURL *curl;
    const sm_http_request *req;
    sm_http_response *resp;
    size_t cap;
    bool sank;            /* body bytes went to the sink */
    int sink_err;
    uint64_t resume_from; /* asked for the body from this offset on */
    int timeout;          /* seconds of silence allowed */
    bool answered;        /* a response other than a redirect began */
    int upload_fd;        /* req->upload_file, open for this attempt; or -1 */
    uint64_t upload_off;  /* bytes of the body sent so far */
} transfer;

static int append(transfer *t, const char *data, size_t len, size_t max)
{
    sm_http_response *r = t->resp;
    if (r->body_len + len > max)
        return -EFBIG;
    if (r->body_len + len + 1 > t->cap) {
        size_t cap = (r->body_len + len + 1) * 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return -ENOMEM;
        r->body = b, t->cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

static size_t on_body(char *data, size_t one, size_t n, void *arg)
{
    transfer *t = arg;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        /* Keep the start of an error body for the message; drop the rest. */
        size_t room = ERROR_BODY_MAX - t->resp->body_len;
        append(t, data, n < room ? n : room, ERROR_BODY_MAX);
        return n;
    }
    if (t->req->sink) {
        t->sank = true;
        t->sink_err = t->req->sink(t->req->ctx, data, n);
        return t->sink_err ? 0 : n;
    }
    int err = append(t, data, n, t->req->max_body);
    if (err) {
        t->sink_err = err == -EFBIG ? sm_fail(EFBIG, "the response from %s is larger than the "
                                              "%zu bytes allowed", t->req->url, t->req->max_body)
                                    : sm_fail(ENOMEM, "out of memory reading %s", t->req->url);
        return 0;
    }
    (void)one;
    return n;
}

static void header_value(const char *line, size_t n, size_t name_len, char *out, size_t len)
{
    const char *v = line + name_len;
    size_t vn = n - name_len;
    while (vn && isspace((unsigned char)*v))
        v++, vn--;
    while (vn && isspace((unsigned char)v[vn - 1]))
        vn--;
    snprintf(out, len, "%.*s", (int)vn, v);
}

static size_t on_header(char *line, size_t one, size_t n, void *arg)
{
    transfer *t = arg;
    sm_http_response *r = t->resp;
    (void)one;
    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* A redirect, followed, is not the answer yet. */
        const char *code = memchr(line, ' ', n);
        t->answered |= !code || code[1] != '3';
        /* A new response (after a redirect): forget the previous one's. */
        free(r->www_authenticate);
        free(r->location);
        r->www_authenticate = r->location = NULL;
        r->content_type[0] = r->content_digest[0] = '\0';
        r->body_len = 0;
    } else if (n > 13 && !strncasecmp(line, "content-type:", 13)) {
        header_value(line, n, 13, r->content_type, sizeof r->content_type);
    } else if (n > 22 && !strncasecmp(line, "docker-content-digest:", 22)) {
        header_value(line, n, 22, r->content_digest, sizeof r->content_digest);
    } else if (n > 17 && !strncasecmp(line, "www-authenticate:", 17) && !r->www_authenticate) {
        char v[8192];
        header_value(line, n, 17, v, sizeof v);
        r->www_authenticate = strdup(v);
    } else if (n > 9 && !strncasecmp(line, "location:", 9) && !r->location) {
        char v[8192];
        header_value(line, n, 9, v, sizeof v);
        r->location = strdup(v);
    }
    return n;
}

/* The next piece of the body to send, from memory or the file. */
static size_t on_read(char *buf, size_t one, size_t n, void *arg)
{
    transfer *t = arg;
    const sm_http_request *req = t->req;
    uint64_t left = req->upload_len - t->upload_off;
    size_t want = (size_t)(left < n * one ? left : n * one);
    ssize_t got = want;
    if (req->upload_data)
        memcpy(buf, (const char *)req->upload_data + t->upload_off, want);
    else if (want && (got = pread(t->upload_fd, buf, want, (off_t)t->upload_off)) <= 0) {
        /* The file shrank or failed: no silent short body. */
        t->sink_err = sm_fail(got < 0 ? errno : EIO, "cannot read '%s' to send it: %s",
                              req->upload_file, got < 0 ? strerror(errno) : "it got shorter");
        return CURL_READFUNC_ABORT;
    }
    t->upload_off += (uint64_t)got;
    if (req->sent)
        req->sent(req->ctx, t->upload_off);
    return (size_t)got;
}

/* curl rewinds the body to send it again after a redirect. */
static int on_seek(void *arg, curl_off_t offset, int origin)
{
    transfer *t = arg;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > t->req->upload_len)
        return CURL_SEEKFUNC_CANTSEEK;
    t->upload_off = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static bool uploads(const sm_http_request *req)
{
    return req->upload_data || req->upload_file;
}

/* The method and body of a push's requests (GET needs nothing set). */
static void set_method(CURL *c, transfer *t)
{
    const sm_http_request *req = t->req;
    const char *m = req->method;
    if (m && !strcmp(m, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (uploads(req)) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);   /* a PUT, unless told otherwise */
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, t);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_len);
        if (m && strcmp(m, "PUT"))
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    } else if (m && !strcmp(m, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    } else if (m && strcmp(m, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    }
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    transfer *t = arg;
    (void)a, (void)b, (void)c, (void)d;
    return t->req->cancel && atomic_load(t->req->cancel) ? 1 : 0;
}

static CURLcode add_cas(CURL *curl, void *ssl_ctx, void *arg)
{
    (void)curl;
    return sm_tls_add_cas(ssl_ctx, arg) ? CURLE_SSL_CACERT_BADFILE : CURLE_OK;
}

static void set_tls(CURL *c, const sm_tls *tls)
{
    if (tls && tls->ca_pem) {
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, add_cas);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, (void *)tls);
    }
    if (tls && tls->client_cert[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, tls->client_cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY, tls->client_key);
    }
}

/* How long a registry may stay silent: to accept the connection, to
 * answer, or in the middle of a body. */
static int timeout_seconds(int *out)
{
    const char *v = getenv("SUPERMACHINE_REGISTRY_TIMEOUT");
    *out = SM_HTTP_TIMEOUT_DEFAULT;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < 1 || n > 86400)
        return sm_fail(EINVAL, "SUPERMACHINE_REGISTRY_TIMEOUT must be a whole number of seconds "
                       "from 1 to 86400, not '%s'", v);
    *out = (int)n;
    return 0;
}

static void set_options(transfer *t, struct curl_slist *headers, char *errbuf)
{
    CURL *c = t->curl;
    curl_easy_reset(c);
    /* curl checks the answer's Content-Range, and fails with
     * CURLE_RANGE_ERROR when the server sends the whole body instead. */
    if (t->resume_from)
        curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)t->resume_from);
    curl_easy_setopt(c, CURLOPT_URL, t->req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)t->timeout);
    /* Not a byte for that long: a registry that never answers fails (see
     * attempt); a body that stalls counts as dropped, and is retried. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)t->timeout);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "supermachine/0.1");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    if (t->req->post_form)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->req->post_form);
    set_method(c, t);
    set_tls(c, t->req->tls);
}

/* The host of `url`, and ":port" when with_port and the URL names one. */
static void url_host(const char *url, bool with_port, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *h = NULL, *p = NULL;
    out[0] = '\0';
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        if (with_port)
            curl_url_get(u, CURLUPART_PORT, &p, 0);
        snprintf(out, len, "%s%s%s", h, p ? ":" : "", p ? p : "");
    }
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
}

/* A TLS failure says what the user can do about it. */
static int tls_error(const sm_http_request *req, CURLcode rc, const char *detail)
{
    char host[256];
    url_host(req->url, false, host, sizeof host);
    const sm_tls *t = req->tls;
    if (rc == CURLE_PEER_FAILED_VERIFICATION)
        return sm_fail(EPERM, "the TLS certificate of %s does not verify (%s); if a private CA "
                       "signed it, put that CA's certificate in %s/ca.crt", host, detail,
                       t && t->dir[0] ? t->dir : SM_CERTS_DIR_DEFAULT "/HOST:PORT");
    return sm_fail(EPERM, "cannot use the client certificate %s for %s: %s",
                   t && t->client_cert[0] ? t->client_cert : "", host, detail);
}

static bool retryable_code(CURLcode rc)
{
    switch (rc) {
    case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING: case CURLE_OPERATION_TIMEDOUT: case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: case CURLE_SSL_CONNECT_ERROR:
        return true;
    default:
        return false;
    }
}

static bool retryable_status(long s)
{
    return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504;
}

static int errno_of(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST: return EHOSTUNREACH;
    case CURLE_COULDNT_CONNECT: return ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT: return ETIMEDOUT;
    default: return EIO;
    }
}

static void backoff(int attempt)
{
    long ms = 200L << attempt;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0)
        ;
}

/* Where the next attempt starts its body: 0, or what the sink holds. */
static uint64_t resume_point(const sm_http_request *req, bool can_resume)
{
    return can_resume && req->resume_offset ? req->resume_offset(req->ctx) : 0;
}

/* Before a retry: resume what the sink holds, or make it start over. */
static int prepare_retry(const sm_http_request *req, bool sank, bool can_resume)
{
    if (resume_point(req, can_resume))
        return 0;
    return sank && req->restart ? req->restart(req->ctx) : 0;
}

/* Silence for t->timeout seconds. Before any answer that is no hiccup
 * worth minutes of retries: the user hears of it at once. */
static int timed_out(const transfer *t)
{
    char host[300], *url = NULL;   /* where a redirect led, if one did */
    curl_easy_getinfo(t->curl, CURLINFO_EFFECTIVE_URL, &url);
    url_host(url ? url : t->req->url, true, host, sizeof host);
    if (!t->answered)
        return sm_fail(ETIMEDOUT, "registry %s did not answer within %d s", host, t->timeout);
    return sm_fail(ETIMEDOUT, "registry %s stopped sending for %d s (%s)", host, t->timeout,
                   url ? url : t->req->url);
}

/* One attempt: 1 to retry, 0 done, negative errno failed. can_resume:
 * the sink's bytes may be resumed (cleared when the server refuses). */
static int attempt(sm_http *h, const sm_http_request *req, sm_http_response *resp,
                   struct curl_slist *headers, int timeout, bool last, bool *can_resume)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    transfer t = {.curl = h->curl, .req = req, .resp = resp, .timeout = timeout,
                  .upload_fd = -1};
    t.resume_from = resume_point(req, *can_resume);
    sm_http_response_free(resp);
    if (req->upload_file && (t.upload_fd = open(req->upload_file, O_RDONLY | O_CLOEXEC)) < 0)
        return sm_fail(errno, "cannot read '%s': %s", req->upload_file, strerror(errno));
    set_options(&t, headers, errbuf);
    CURLcode rc = curl_easy_perform(h->curl);
    if (t.upload_fd >= 0)
        close(t.upload_fd);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
    int err = 0;
    if (t.sink_err)
        return t.sink_err;
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        return sm_fail(ECANCELED, "cancelled");
    if (rc == CURLE_RANGE_ERROR && t.resume_from && !last) {
        sm_debug("%s ignores ranges; downloading it again", req->url);
        *can_resume = false;
        return req->restart && (err = req->restart(req->ctx)) < 0 ? err : 1;
    }
    if (rc == CURLE_OK && !(retryable_status(resp->status) && !last))
        return 0;
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CERTPROBLEM)
        return tls_error(req, rc, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    if (rc == CURLE_OPERATION_TIMEDOUT && (!t.answered || last))
        return timed_out(&t);
    if (rc != CURLE_OK && (!retryable_code(rc) || last))
        return sm_fail(errno_of(rc), "cannot reach %s: %s", req->url,
                       errbuf[0] ? errbuf : curl_easy_strerror(rc));
    sm_debug("retrying %s after %s", req->url, rc ? curl_easy_strerror(rc) : "a server error");
    /* A server error's body went nowhere: the sink still holds a prefix. */
    if ((err = prepare_retry(req, t.sank || t.resume_from, *can_resume)) < 0)
        return err;
    return 1;
}

int sm_http_get(sm_http *h, const sm_http_request *req, sm_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    struct curl_slist *headers = NULL, *tmp;
    char line[16384];
    if (req->accept) {
        snprintf(line, sizeof line, "Accept: %s", req->accept);
        headers = curl_slist_append(headers, line);
    }
    if (req->authorization) {
        snprintf(line, sizeof line, "Authorization: %s", req->authorization);
        if ((tmp = curl_slist_append(headers, line)))
            headers = tmp;
    }
    if (req->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        if ((tmp = curl_slist_append(headers, line)))
            headers = tmp;
    }
    /* Send a body at once rather than wait for "100 Continue". */
    if (uploads(req) && (tmp = curl_slist_append(headers, "Expect:")))
        headers = tmp;
    int timeout, rc = timeout_seconds(&timeout);
    rc = rc < 0 ? rc : 1;
    bool can_resume = true;
    for (int i = 0; rc == 1 && i < SM_HTTP_ATTEMPTS; i++) {
        if (i)
            backoff(i - 1);
        rc = attempt(h, req, resp, headers, timeout, i == SM_HTTP_ATTEMPTS - 1, &can_resume);
    }
    curl_slist_free_all(headers);
    return rc;
}

void sm_http_error_text(const sm_http_response *r, char *out, size_t len)
{
    json_t *root = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    json_t *e = json_array_get(json_object_get(root, "errors"), 0);
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *code = json_string_value(json_object_get(e, "code"));
    if (msg)
        snprintf(out, len, "HTTP %ld, %s%s%s", r->status, code ? code : "", code ? ": " : "", msg);
    else
        snprintf(out, len, "HTTP %ld", r->status);
    json_decref(root);
    /* Errors are one line. */
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}
