/* A canned-response HTTP server on 127.0.0.1 for the registry client's
 * tests: routes match a request path (and Authorization), answer a fixed
 * status, headers and body, and can drop or stall mid-body. */
#ifndef SM_TEST_FAKE_HTTP_H
#define SM_TEST_FAKE_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct fake_route {
    const char *path;       /* the request path; matched with its query only if
                               this contains '?' */
    const char *auth;       /* required Authorization value; NULL: anything */
    int status;
    const char *headers;    /* extra header lines, each ending in \r\n; may be NULL */
    const char *body;       /* may be NULL */
    size_t body_len;        /* 0: strlen(body) */
    size_t send_only;       /* >0: send just this much of the body, then close */
    int stall;              /* with send_only: stay silent until the client leaves */
    int times;              /* >0: answer this many times, then let later routes */
    int ranges;             /* honour "Range: bytes=N-" with a 206 */
    atomic_int hits;
    char seen_method[16];   /* of the last request this route answered */
    char seen_body[1024];   /* its body (the start) */
    char seen_range[64];    /* its Range header, or "" */
    char seen_auth[256];    /* its Authorization header, or "" */
} fake_route;

typedef struct fake_http {
    int listen_fd;
    int port;
    pthread_t thread;
    fake_route *routes;
    size_t count;
    atomic_int stop;
    char last_target[2048];  /* the last request's path and query */
} fake_http;

void fake_http_start(fake_http *f, fake_route *routes, size_t count);
void fake_http_stop(fake_http *f);

#endif
