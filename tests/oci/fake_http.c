#include "fake_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w, n -= (size_t)w;
    }
}

/* Read up to the blank line that ends a request's head; a body that came
 * along stays in buf after it. */
static int read_head(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got + 1 < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + got, len - 1 - got, 0);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return 0;
    }
    return -1;
}

static void header(const char *head, const char *name, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        size_t n = strlen(name);
        if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':') {
            const char *v = l + 3 + n;
            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", (int)strcspn(v, "\r"), v);
            return;
        }
    }
}

static fake_route *match(fake_http *f, const char *target, const char *auth)
{
    char path[2048];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(target, "?"), target);
    for (size_t i = 0; i < f->count; i++) {
        fake_route *r = &f->routes[i];
        const char *want = strchr(r->path, '?') ? target : path;
        if (strcmp(r->path, want) || (r->auth && strcmp(r->auth, auth)))
            continue;
        if (r->times && atomic_load(&r->hits) >= r->times)
            continue;
        atomic_fetch_add(&r->hits, 1);
        return r;
    }
    return NULL;
}

/* Wait until the client hangs up or the server stops. */
static void stall(fake_http *f, int fd)
{
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char c;
        if (poll(&p, 1, 50) > 0 && recv(fd, &c, 1, 0) <= 0)
            return;
    }
}

/* The offset of "bytes=N-" when the route honours ranges, else 0. */
static size_t range_start(const fake_route *r, size_t len)
{
    unsigned long long from;
    if (!r || !r->ranges || r->status != 200 || sscanf(r->seen_range, "bytes=%llu-", &from) != 1)
        return 0;
    return from < len ? (size_t)from : 0;
}

static void answer(fake_http *f, int fd, const fake_route *r)
{
    static const char not_found[] =
        "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"no route in the fake\"}]}";
    const char *body = r ? (r->body ? r->body : "") : not_found;
    size_t len = r && r->body_len ? r->body_len : strlen(body);
    size_t from = range_start(r, len);
    char head[4096], range[128] = "";
    if (from)
        snprintf(range, sizeof range, "Content-Range: bytes %zu-%zu/%zu\r\n", from, len - 1, len);
    body += from, len -= from;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d Fake\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s\r\n",
                     from ? 206 : r ? r->status : 404, len, range,
                     r && r->headers ? r->headers : "");
    write_all(fd, head, (size_t)n);
    size_t send = r && r->send_only && r->send_only < len ? r->send_only : len;
    write_all(fd, body, send);
    if (r && r->send_only && r->stall)
        stall(f, fd);
}

/* Keep the start of a POST's body (Content-Length bytes after the head). */
static void read_body(int fd, const char *head, char *body, size_t len)
{
    char cl[32];
    header(head, "Content-Length", cl, sizeof cl);
    size_t want = (size_t)strtoul(cl, NULL, 10), got;
    if (want >= len)
        want = len - 1;
    const char *start = strstr(head, "\r\n\r\n") + 4;
    got = strlen(start) < want ? strlen(start) : want;
    memcpy(body, start, got);
    while (got < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t n = poll(&p, 1, 2000) > 0 ? recv(fd, body + got, want - got, 0) : -1;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    body[got] = '\0';
}

static void serve(fake_http *f, int fd)
{
    char head[16384], method[16], target[2048], auth[4096];
    if (read_head(fd, head, sizeof head) < 0 ||
        sscanf(head, "%15s %2047s", method, target) != 2)
        return;
    snprintf(f->last_target, sizeof f->last_target, "%s", target);
    header(head, "Authorization", auth, sizeof auth);
    fake_route *r = match(f, target, auth);
    if (r) {
        snprintf(r->seen_method, sizeof r->seen_method, "%s", method);
        header(head, "Range", r->seen_range, sizeof r->seen_range);
        snprintf(r->seen_auth, sizeof r->seen_auth, "%s", auth);
        read_body(fd, head, r->seen_body, sizeof r->seen_body);
    }
    answer(f, fd, r);
}

static void *loop(void *arg)
{
    fake_http *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(f->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        serve(f, fd);
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
    return NULL;
}

void fake_http_start(fake_http *f, fake_route *routes, size_t count)
{
    memset(f, 0, sizeof *f);
    f->routes = routes;
    f->count = count;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(f->listen_fd, 64) < 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &alen) < 0) {
        perror("fake_http");
        abort();
    }
    f->port = ntohs(a.sin_port);
    pthread_create(&f->thread, NULL, loop, f);
}

void fake_http_stop(fake_http *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}
