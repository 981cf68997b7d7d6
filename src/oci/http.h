/* HTTP GET over libcurl, with the retry policy registries need: 5xx, 429
 * and dropped connections are retried with exponential backoff. */
#ifndef SM_OCI_HTTP_H
#define SM_OCI_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/tls.h"

#define SM_HTTP_ATTEMPTS 4
/* Seconds a registry may stay silent (connecting, before answering, or in
 * the middle of a body); SUPERMACHINE_REGISTRY_TIMEOUT overrides it. */
#define SM_HTTP_TIMEOUT_DEFAULT 30

/* One connection cache; use one per thread. */
typedef struct sm_http {
    void *curl;   /* CURL */
} sm_http;

int sm_http_init(sm_http *h);
void sm_http_free(sm_http *h);

typedef struct sm_http_request {
    const char *url;
    const char *authorization;    /* the Authorization header's value, or NULL */
    const char *accept;           /* or NULL */
    /* POST this application/x-www-form-urlencoded body; NULL: GET. */
    const char *post_form;
    const sm_tls *tls;            /* extra CAs, client certificate; may be NULL */
    /* Where the body of a 2xx response goes. Return 0, or a negative errno
     * (after sm_fail) to stop. NULL: into resp->body, at most max_body. */
    int (*sink)(void *ctx, const void *data, size_t len);
    /* Called before a retry when some of the body already went to sink
     * and cannot be resumed. */
    int (*restart)(void *ctx);
    /* May be NULL. Where a retry after a dropped connection may resume
     * (an HTTP Range request for the rest), or 0 to start over; a server
     * that ignores the range makes it start over too, through restart. */
    uint64_t (*resume_offset)(void *ctx);
    void *ctx;
    size_t max_body;
    atomic_int *cancel;           /* stop early once this becomes non-zero */
    /* "HEAD", "POST" or "PUT" (for a push); NULL: GET, or POST with
     * post_form. A POST or PUT sends the body below, or none. */
    const char *method;
    const char *content_type;     /* of the body sent, or NULL */
    /* The body to send: upload_len bytes of upload_data, or else of the
     * file upload_file (read from its start on each attempt). */
    const void *upload_data;
    const char *upload_file;
    uint64_t upload_len;
    /* May be NULL. Told, with ctx, how much of the body this attempt has
     * sent so far (from 0 again after a retry). */
    void (*sent)(void *ctx, uint64_t offset);
} sm_http_request;

typedef struct sm_http_response {
    long status;
    char content_type[128];
    char content_digest[80];      /* Docker-Content-Digest */
    char *www_authenticate;       /* NULL when absent */
    char *location;               /* the Location header, or NULL */
    char *body;                   /* NUL-terminated; for errors, the first KiB */
    size_t body_len;
} sm_http_response;

/* 0 when a response arrived (whatever its status: after retries a 5xx is
 * returned as such); a negative errno when none did or sink failed.
 * (Despite the name, a request with post_form is a POST, and one with
 * method that method.) */
int sm_http_get(sm_http *h, const sm_http_request *req, sm_http_response *resp);
void sm_http_response_free(sm_http_response *r);

/* A short description of a registry error body ({"errors":[{"message":..}]}),
 * or of the status when the body says nothing useful. */
void sm_http_error_text(const sm_http_response *r, char *out, size_t len);

#endif
