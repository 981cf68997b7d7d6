/* The client's file operations: stat, write, read, list, mkdir, link. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/client_int.h"
#include "util/error.h"

static int request(sm_agent_conn *c, uint16_t type, const sm_agent_file_req *req)
{
    int err = sm_agent_conn_begin(c);
    if (!err && (err = sm_agent_encode_file_req(&c->out, type, req)) < 0)
        err = sm_fail(err, "the path %.100s is too long for the agent", req->path);
    return err;
}

int sm_agent_stat(sm_agent_conn *c, const char *path, bool nofollow, sm_agent_stat_reply *out)
{
    sm_agent_frame f;
    const char *why = "";
    int err = request(c, SM_AGENT_STAT, &(sm_agent_file_req){.path = path, .nofollow = nofollow});
    if (!err)
        err = sm_agent_conn_send(c, NULL, 0);
    if (!err && (err = sm_agent_conn_next(c, &f, false)) > 0) {
        if (f.type == SM_AGENT_ERROR)
            return sm_agent_conn_error(&f, "stat in the guest failed");
        if (f.type != SM_AGENT_STAT_REPLY)
            return sm_agent_conn_unexpected(c, &f, "stat");
        if (sm_agent_decode_stat_reply(&f, out, &why) < 0) {
            c->broken = true;
            return sm_fail(EPROTO, "the agent sent a bad STAT_REPLY: %s", why);
        }
        err = 0;
    }
    return err;
}

/* One FILE_DATA frame: its header goes with whatever is queued, its
 * payload straight from the caller's memory. */
static int send_chunk(sm_agent_conn *c, const void *data, size_t len, bool eof)
{
    int err = sm_agent_encode_data_header(&c->out, SM_AGENT_FILE_DATA, (uint32_t)len, eof);
    if (err)
        return sm_fail(err, "out of memory");
    return sm_agent_conn_send(c, data, len);
}

static int ok_reply(sm_agent_conn *c, const char *what)
{
    sm_agent_frame f;
    uint64_t size;
    const char *why = "";
    int err = sm_agent_conn_next(c, &f, false);
    if (err < 0)
        return err;
    if (f.type == SM_AGENT_ERROR)
        return sm_agent_conn_error(&f, what);
    if (f.type != SM_AGENT_OK)
        return sm_agent_conn_unexpected(c, &f, "a file operation");
    if (sm_agent_decode_ok(&f, &size, &why) < 0) {
        c->broken = true;
        return sm_fail(EPROTO, "the agent sent a bad OK: %s", why);
    }
    return 0;
}

int sm_agent_write_file(sm_agent_conn *c, const sm_agent_file_req *req, const void *data,
                        size_t len)
{
    int err = request(c, SM_AGENT_FILE_WRITE, req);
    const uint8_t *p = data;
    do {
        size_t n = len < SM_AGENT_CHUNK ? len : SM_AGENT_CHUNK;
        if (!err)
            err = send_chunk(c, p, n, n == len);
        p += n;
        len -= n;
    } while (!err && len);
    return err ? err : ok_reply(c, "writing a file in the guest failed");
}

int sm_agent_write_file_src(sm_agent_conn *c, const sm_agent_file_req *req,
                            sm_agent_source src, void *ctx)
{
    int err = request(c, SM_AGENT_FILE_WRITE, req);
    uint8_t *buf = malloc(SM_AGENT_CHUNK);
    if (!buf && !err)
        err = sm_fail(ENOMEM, "out of memory");
    while (!err) {
        ssize_t n = src(ctx, buf, SM_AGENT_CHUNK);
        if (n < 0) {
            /* Without an end the agent drops its temporary file when the
             * connection closes. */
            err = (int)n;
            c->broken = true;
            break;
        }
        err = send_chunk(c, buf, (size_t)n, n == 0);
        if (n == 0)
            break;
    }
    free(buf);
    return err ? err : ok_reply(c, "writing a file in the guest failed");
}

static ssize_t from_fd(void *ctx, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(*(int *)ctx, buf, len);
        if (n >= 0 || errno != EINTR)
            return n >= 0 ? n
                          : sm_fail(errno, "cannot read the file to send: %s", strerror(errno));
    }
}

int sm_agent_write_file_fd(sm_agent_conn *c, const sm_agent_file_req *req, int src_fd)
{
    return sm_agent_write_file_src(c, req, from_fd, &src_fd);
}

static int simple_op(sm_agent_conn *c, uint16_t type, const sm_agent_file_req *req,
                     const char *what)
{
    int err = request(c, type, req);
    if (!err)
        err = sm_agent_conn_send(c, NULL, 0);
    return err ? err : ok_reply(c, what);
}

int sm_agent_mkdir(sm_agent_conn *c, const sm_agent_file_req *req)
{
    return simple_op(c, SM_AGENT_MKDIR, req, "making a directory in the guest failed");
}

int sm_agent_link(sm_agent_conn *c, const sm_agent_file_req *req)
{
    return simple_op(c, SM_AGENT_LINK, req, "making a link in the guest failed");
}

static int read_stream(sm_agent_conn *c, const sm_agent_file_req *req, sm_agent_sink sink,
                       void *ctx)
{
    int err = request(c, SM_AGENT_FILE_READ, req);
    if (!err)
        err = sm_agent_conn_send(c, NULL, 0);
    while (!err) {
        sm_agent_frame f;
        if ((err = sm_agent_conn_next(c, &f, false)) < 0)
            return err;
        if (f.type == SM_AGENT_ERROR)
            return sm_agent_conn_error(&f, "reading a file in the guest failed");
        if (f.type != SM_AGENT_FILE_DATA)
            return sm_agent_conn_unexpected(c, &f, "read");
        err = f.len ? sink(ctx, f.payload, f.len) : 0;
        if (err) {
            c->broken = true;  /* the rest of the file is still coming */
            return err;
        }
        if (f.flags & SM_AGENT_F_EOF)
            return 0;
    }
    return err;
}

int sm_agent_read_file(sm_agent_conn *c, const char *path, sm_agent_sink sink, void *ctx)
{
    return read_stream(c, &(sm_agent_file_req){.path = path}, sink, ctx);
}

typedef struct membuf {
    uint8_t *data;
    size_t len, cap, max;
} membuf;

static int to_membuf(void *ctx, const void *data, size_t len)
{
    membuf *m = ctx;
    if (len > m->max - m->len)
        return sm_fail(EFBIG, "the file is larger than %zu bytes", m->max);
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + len + 1)
            cap *= 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p)
            return sm_fail(ENOMEM, "out of memory");
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, len);
    m->len += len;
    return 0;
}

static int read_buf(sm_agent_conn *c, const sm_agent_file_req *req, size_t max, uint8_t **data,
                    size_t *len)
{
    membuf m = {.max = max};
    int err = read_stream(c, req, to_membuf, &m);
    if (!err && !m.data && !(m.data = malloc(1)))
        err = sm_fail(ENOMEM, "out of memory");
    if (err) {
        free(m.data);
        return err;
    }
    m.data[m.len] = 0;
    *data = m.data;
    *len = m.len;
    return 0;
}

int sm_agent_read_file_buf(sm_agent_conn *c, const char *path, size_t max, uint8_t **data,
                           size_t *len)
{
    return read_buf(c, &(sm_agent_file_req){.path = path}, max, data, len);
}

int sm_agent_list_dir(sm_agent_conn *c, const char *path, size_t max, uint8_t **data,
                      size_t *len)
{
    return read_buf(c, &(sm_agent_file_req){.path = path, .names0 = true}, max, data, len);
}
