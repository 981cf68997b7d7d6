#include "devices/p9/p9_codec.h"

#include <errno.h>
#include <string.h>

/* A cursor over a message; any read past its end sets `bad` and yields
 * zeros, so a decoder checks once at the end rather than at every field. */
typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    bool bad;
    int err;             /* the first error other than truncation */
    sm_p9_req *r;
} rd;

static const uint8_t *take(rd *c, size_t n)
{
    if (c->bad || n > c->len - c->pos) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *p = c->p + c->pos;
    c->pos += n;
    return p;
}

static uint64_t get_le(rd *c, size_t n)
{
    const uint8_t *p = take(c, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint8_t g8(rd *c) { return (uint8_t)get_le(c, 1); }
static uint16_t g16(rd *c) { return (uint16_t)get_le(c, 2); }
static uint32_t g32(rd *c) { return (uint32_t)get_le(c, 4); }
static uint64_t g64(rd *c) { return get_le(c, 8); }

/* A string copied into the request's arena; NULL (with the error noted)
 * if it overruns, holds a NUL or is longer than max. */
static const char *gstr(rd *c, size_t max)
{
    uint16_t n = g16(c);
    const uint8_t *s = take(c, n);
    if (!s)
        return NULL;
    if (memchr(s, 0, n)) {
        c->err = c->err ? c->err : EINVAL;
        return NULL;
    }
    sm_p9_req *r = c->r;
    if (n > max || (size_t)n + 1 > sizeof r->strings - r->strings_used) {
        c->err = c->err ? c->err : ENAMETOOLONG;
        return NULL;
    }
    char *out = r->strings + r->strings_used;
    memcpy(out, s, n);
    out[n] = '\0';
    r->strings_used += (size_t)n + 1;
    return out;
}

static void decode_walk(rd *c, sm_p9_req *r)
{
    r->fid = g32(c);
    r->fid2 = g32(c);
    r->nwname = g16(c);
    if (r->nwname > SM_P9_MAX_WALK) {
        c->bad = true;
        return;
    }
    for (unsigned i = 0; i < r->nwname; i++)
        r->wname[i] = gstr(c, SM_P9_NAME_MAX);
}

static void decode_setattr(rd *c, sm_p9_req *r)
{
    sm_p9_attrs *a = &r->attr;
    r->fid = g32(c);
    a->valid = g32(c), a->mode = g32(c), a->uid = g32(c), a->gid = g32(c);
    a->size = g64(c);
    a->atime_sec = g64(c), a->atime_nsec = g64(c);
    a->mtime_sec = g64(c), a->mtime_nsec = g64(c);
}

static void decode_lock(rd *c, sm_p9_req *r)
{
    r->fid = g32(c);
    r->lock.type = g8(c);
    if (r->type == SM_P9_TLOCK)
        r->lock.flags = g32(c);
    r->lock.start = g64(c);
    r->lock.length = g64(c);
    r->lock.proc_id = g32(c);
    r->lock.client_id = gstr(c, SM_P9_NAME_MAX);
}

static void decode_rw(rd *c, sm_p9_req *r)
{
    r->fid = g32(c);
    r->offset = g64(c);
    r->count = g32(c);
    if (r->type == SM_P9_TWRITE)
        r->data = take(c, r->count);
}

/* Messages whose body is a fid and then at most one name, one fid and
 * integers, each as the type lays them out. */
static bool decode_simple(rd *c, sm_p9_req *r)
{
    switch (r->type) {
    case SM_P9_TVERSION: r->msize = g32(c); r->name = gstr(c, SM_P9_NAME_MAX); return true;
    case SM_P9_TFLUSH: r->oldtag = g16(c); return true;
    case SM_P9_TSTATFS: case SM_P9_TREADLINK: case SM_P9_TCLUNK: case SM_P9_TREMOVE:
        r->fid = g32(c);
        return true;
    case SM_P9_TGETATTR: r->fid = g32(c); r->mask = g64(c); return true;
    case SM_P9_TLOPEN: r->fid = g32(c); r->flags = g32(c); return true;
    case SM_P9_TFSYNC: r->fid = g32(c); r->flags = g32(c); return true;
    case SM_P9_TLINK: case SM_P9_TRENAME:
        r->fid = g32(c); r->fid2 = g32(c);
        r->name = gstr(c, SM_P9_NAME_MAX);
        if (r->type == SM_P9_TLINK) {
            /* Tlink is dfid, fid, name: as for Trename, fid is the file
             * and fid2 the directory. */
            uint32_t t = r->fid;
            r->fid = r->fid2;
            r->fid2 = t;
        }
        return true;
    case SM_P9_TXATTRWALK:
        r->fid = g32(c); r->fid2 = g32(c); r->name = gstr(c, SM_P9_NAME_MAX);
        return true;
    default:
        return false;
    }
}

/* Messages that create or name something in a directory fid. */
static bool decode_names(rd *c, sm_p9_req *r)
{
    switch (r->type) {
    case SM_P9_TATTACH:
        r->fid = g32(c); r->fid2 = g32(c);
        r->name = gstr(c, SM_P9_NAME_MAX); r->name2 = gstr(c, SM_P9_NAME_MAX);
        r->n_uname = g32(c);
        return true;
    case SM_P9_TLCREATE:
        r->fid = g32(c); r->name = gstr(c, SM_P9_NAME_MAX);
        r->flags = g32(c); r->mode = g32(c); r->gid = g32(c);
        return true;
    case SM_P9_TSYMLINK:
        r->fid = g32(c); r->name = gstr(c, SM_P9_NAME_MAX);
        r->name2 = gstr(c, SM_P9_TARGET_MAX); r->gid = g32(c);
        return true;
    case SM_P9_TMKNOD:
        r->fid = g32(c); r->name = gstr(c, SM_P9_NAME_MAX);
        r->mode = g32(c); r->major = g32(c); r->minor = g32(c); r->gid = g32(c);
        return true;
    case SM_P9_TMKDIR:
        r->fid = g32(c); r->name = gstr(c, SM_P9_NAME_MAX);
        r->mode = g32(c); r->gid = g32(c);
        return true;
    case SM_P9_TUNLINKAT:
        r->fid = g32(c); r->name = gstr(c, SM_P9_NAME_MAX); r->flags = g32(c);
        return true;
    case SM_P9_TRENAMEAT:
        r->fid = g32(c); r->name = gstr(c, SM_P9_NAME_MAX);
        r->fid2 = g32(c); r->name2 = gstr(c, SM_P9_NAME_MAX);
        return true;
    case SM_P9_TXATTRCREATE:
        r->fid = g32(c); r->name = gstr(c, SM_P9_NAME_MAX);
        r->mask = g64(c); r->flags = g32(c);
        return true;
    default:
        return false;
    }
}

static bool decode_body(rd *c, sm_p9_req *r)
{
    switch (r->type) {
    case SM_P9_TWALK: decode_walk(c, r); return true;
    case SM_P9_TSETATTR: decode_setattr(c, r); return true;
    case SM_P9_TLOCK: case SM_P9_TGETLOCK: decode_lock(c, r); return true;
    case SM_P9_TREAD: case SM_P9_TWRITE: case SM_P9_TREADDIR: decode_rw(c, r); return true;
    default: return decode_simple(c, r) || decode_names(c, r);
    }
}

uint32_t sm_p9_msg_size(const uint8_t *msg, size_t len)
{
    if (len < 4)
        return 0;
    return (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 |
           (uint32_t)msg[3] << 24;
}

int sm_p9_decode(const uint8_t *msg, size_t len, sm_p9_req *r)
{
    r->strings_used = 0;
    if (len < SM_P9_HEADER)
        return -EBADMSG;
    rd c = {.p = msg, .len = len, .r = r};
    uint32_t size = g32(&c);
    r->type = g8(&c);
    r->tag = g16(&c);
    if (size != len)
        return -EBADMSG;
    if (!decode_body(&c, r))
        return -EOPNOTSUPP;
    if (c.err)
        return -c.err;
    /* Every byte belongs to a field: trailing bytes mean a framing bug. */
    return c.bad || c.pos != len ? -EBADMSG : 0;
}

/* ---- replies ---- */

void sm_p9_w_begin(sm_p9_w *w, uint8_t *buf, size_t cap, uint8_t type, uint16_t tag)
{
    *w = (sm_p9_w){.p = buf, .cap = cap};
    sm_p9_put32(w, 0);
    sm_p9_put8(w, type);
    sm_p9_put16(w, tag);
}

uint8_t *sm_p9_reserve(sm_p9_w *w, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return NULL;
    }
    return w->p + w->len;
}

static void put_le(sm_p9_w *w, uint64_t v, size_t n)
{
    uint8_t *p = sm_p9_reserve(w, n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    w->len += n;
}

void sm_p9_put8(sm_p9_w *w, uint8_t v) { put_le(w, v, 1); }
void sm_p9_put16(sm_p9_w *w, uint16_t v) { put_le(w, v, 2); }
void sm_p9_put32(sm_p9_w *w, uint32_t v) { put_le(w, v, 4); }
void sm_p9_put64(sm_p9_w *w, uint64_t v) { put_le(w, v, 8); }

void sm_p9_put_str(sm_p9_w *w, const char *s, size_t len)
{
    if (len > UINT16_MAX) {
        w->overflow = true;
        return;
    }
    sm_p9_put16(w, (uint16_t)len);
    uint8_t *p = sm_p9_reserve(w, len);
    if (p) {
        memcpy(p, s, len);
        w->len += len;
    }
}

void sm_p9_put_qid(sm_p9_w *w, const sm_p9_qid *q)
{
    sm_p9_put8(w, q->type);
    sm_p9_put32(w, q->version);
    sm_p9_put64(w, q->path);
}

size_t sm_p9_w_end(sm_p9_w *w)
{
    if (w->overflow)
        return 0;
    for (size_t i = 0; i < 4; i++)
        w->p[i] = (uint8_t)(w->len >> (8 * i));
    return w->len;
}

size_t sm_p9_error_reply(uint8_t *buf, size_t cap, uint16_t tag, int err)
{
    sm_p9_w w;
    sm_p9_w_begin(&w, buf, cap, SM_P9_RLERROR, tag);
    sm_p9_put32(&w, (uint32_t)err);
    return sm_p9_w_end(&w);
}
