#include "p9_client.h"

#include <stdio.h>
#include <string.h>

static void put(p9c *c, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n && c->mlen < sizeof c->msg; i++)
        c->msg[c->mlen++] = (uint8_t)(v >> (8 * i));
}

void p9c_begin(p9c *c, uint8_t type)
{
    c->mlen = 0;
    put(c, 0, 4);
    put(c, type, 1);
    put(c, 1, 2);   /* tag */
}

void p9c_u8(p9c *c, uint8_t v) { put(c, v, 1); }
void p9c_u16(p9c *c, uint16_t v) { put(c, v, 2); }
void p9c_u32(p9c *c, uint32_t v) { put(c, v, 4); }
void p9c_u64(p9c *c, uint64_t v) { put(c, v, 8); }

void p9c_raw(p9c *c, const void *p, size_t n)
{
    if (n > sizeof c->msg - c->mlen)
        n = sizeof c->msg - c->mlen;
    memcpy(c->msg + c->mlen, p, n);
    c->mlen += n;
}

void p9c_str(p9c *c, const char *s)
{
    put(c, strlen(s), 2);
    p9c_raw(c, s, strlen(s));
}

int p9c_send_raw(p9c *c, size_t len)
{
    if (c->transport)
        c->rlen = c->transport(c, len);
    else
        c->rlen = sm_p9_server_handle(c->s, c->msg, len, c->reply,
                                      c->cap ? c->cap : sizeof c->reply);
    c->rpos = SM_P9_HEADER;
    return c->rlen >= SM_P9_HEADER ? c->reply[4] : 0;
}

int p9c_send(p9c *c)
{
    for (int i = 0; i < 4; i++)
        c->msg[i] = (uint8_t)(c->mlen >> (8 * i));
    return p9c_send_raw(c, c->mlen);
}

static uint64_t get(p9c *c, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && c->rpos < c->rlen; i++)
        v |= (uint64_t)c->reply[c->rpos++] << (8 * i);
    return v;
}

uint8_t p9c_g8(p9c *c) { return (uint8_t)get(c, 1); }
uint16_t p9c_g16(p9c *c) { return (uint16_t)get(c, 2); }
uint32_t p9c_g32(p9c *c) { return (uint32_t)get(c, 4); }
uint64_t p9c_g64(p9c *c) { return get(c, 8); }

void p9c_gstr(p9c *c, char *buf, size_t len)
{
    size_t n = p9c_g16(c), i = 0;
    for (; i < n && c->rpos < c->rlen; i++) {
        char ch = (char)c->reply[c->rpos++];
        if (i + 1 < len)
            buf[i] = ch;
    }
    buf[i + 1 < len ? i : len - 1] = '\0';
}

int p9c_err(const p9c *c)
{
    if (c->rlen < SM_P9_HEADER + 4 || c->reply[4] != SM_P9_RLERROR)
        return 0;
    return c->reply[7] | c->reply[8] << 8 | c->reply[9] << 16 | c->reply[10] << 24;
}

static int done(p9c *c)
{
    p9c_send(c);
    if (c->rlen == 0)
        return -1;
    return p9c_err(c);
}

int p9c_version(p9c *c, uint32_t msize, const char *version, uint32_t *got)
{
    p9c_begin(c, SM_P9_TVERSION);
    p9c_u32(c, msize);
    p9c_str(c, version);
    int e = done(c);
    if (!e && got)
        *got = p9c_g32(c);
    return e;
}

int p9c_attach_as(p9c *c, uint32_t fid, uint32_t uid)
{
    p9c_begin(c, SM_P9_TATTACH);
    p9c_u32(c, fid);
    p9c_u32(c, SM_P9_NOFID);
    p9c_str(c, "root");
    p9c_str(c, "");
    p9c_u32(c, uid);
    return done(c);
}

int p9c_attach(p9c *c, uint32_t fid)
{
    return p9c_attach_as(c, fid, 0);
}

int p9c_walk(p9c *c, uint32_t fid, uint32_t newfid, int *nwqid, const char *path)
{
    char copy[4096];
    const char *names[32];
    int n = 0;
    strncpy(copy, path, sizeof copy - 1);
    copy[sizeof copy - 1] = '\0';
    /* "a|b|c": '|' separates elements, so that tests can send '/' inside one. */
    for (char *p = copy, *e; *path && n < 32; p = e + 1) {
        names[n++] = p;
        if (!(e = strchr(p, '|')))
            break;
        *e = '\0';
    }
    p9c_begin(c, SM_P9_TWALK);
    p9c_u32(c, fid);
    p9c_u32(c, newfid);
    p9c_u16(c, (uint16_t)n);
    for (int i = 0; i < n; i++)
        p9c_str(c, names[i]);
    int e = done(c);
    if (!e && nwqid)
        *nwqid = p9c_g16(c);
    return e;
}

int p9c_lopen(p9c *c, uint32_t fid, uint32_t flags)
{
    p9c_begin(c, SM_P9_TLOPEN);
    p9c_u32(c, fid);
    p9c_u32(c, flags);
    return done(c);
}

int p9c_lcreate(p9c *c, uint32_t fid, const char *name, uint32_t flags, uint32_t mode)
{
    p9c_begin(c, SM_P9_TLCREATE);
    p9c_u32(c, fid);
    p9c_str(c, name);
    p9c_u32(c, flags);
    p9c_u32(c, mode);
    p9c_u32(c, 0);
    return done(c);
}

int p9c_read(p9c *c, uint32_t fid, uint64_t off, uint32_t count, char *buf, uint32_t *n)
{
    p9c_begin(c, SM_P9_TREAD);
    p9c_u32(c, fid);
    p9c_u64(c, off);
    p9c_u32(c, count);
    int e = done(c);
    if (!e) {
        *n = p9c_g32(c);
        if (buf)
            memcpy(buf, c->reply + c->rpos, *n);
    }
    return e;
}

int p9c_write(p9c *c, uint32_t fid, uint64_t off, const char *data, uint32_t len)
{
    p9c_begin(c, SM_P9_TWRITE);
    p9c_u32(c, fid);
    p9c_u64(c, off);
    p9c_u32(c, len);
    p9c_raw(c, data, len);
    return done(c);
}

int p9c_clunk(p9c *c, uint32_t fid)
{
    p9c_begin(c, SM_P9_TCLUNK);
    p9c_u32(c, fid);
    return done(c);
}

int p9c_mkdir(p9c *c, uint32_t dfid, const char *name, uint32_t mode)
{
    p9c_begin(c, SM_P9_TMKDIR);
    p9c_u32(c, dfid);
    p9c_str(c, name);
    p9c_u32(c, mode);
    p9c_u32(c, 0);
    return done(c);
}

int p9c_unlinkat(p9c *c, uint32_t dfid, const char *name, uint32_t flags)
{
    p9c_begin(c, SM_P9_TUNLINKAT);
    p9c_u32(c, dfid);
    p9c_str(c, name);
    p9c_u32(c, flags);
    return done(c);
}

int p9c_renameat(p9c *c, uint32_t ofid, const char *oname, uint32_t nfid, const char *nname)
{
    p9c_begin(c, SM_P9_TRENAMEAT);
    p9c_u32(c, ofid);
    p9c_str(c, oname);
    p9c_u32(c, nfid);
    p9c_str(c, nname);
    return done(c);
}

int p9c_symlink(p9c *c, uint32_t dfid, const char *name, const char *target)
{
    p9c_begin(c, SM_P9_TSYMLINK);
    p9c_u32(c, dfid);
    p9c_str(c, name);
    p9c_str(c, target);
    p9c_u32(c, 0);
    return done(c);
}

int p9c_mknod(p9c *c, uint32_t dfid, const char *name, uint32_t mode)
{
    p9c_begin(c, SM_P9_TMKNOD);
    p9c_u32(c, dfid);
    p9c_str(c, name);
    p9c_u32(c, mode);
    p9c_u32(c, 1);
    p9c_u32(c, 3);
    p9c_u32(c, 0);
    return done(c);
}

int p9c_link(p9c *c, uint32_t dfid, uint32_t fid, const char *name)
{
    p9c_begin(c, SM_P9_TLINK);
    p9c_u32(c, dfid);
    p9c_u32(c, fid);
    p9c_str(c, name);
    return done(c);
}

int p9c_setattr_mode(p9c *c, uint32_t fid, uint32_t mode)
{
    p9c_begin(c, SM_P9_TSETATTR);
    p9c_u32(c, fid);
    p9c_u32(c, 1);   /* MODE */
    p9c_u32(c, mode);
    p9c_u32(c, 0);
    p9c_u32(c, 0);
    for (int i = 0; i < 5; i++)
        p9c_u64(c, 0);
    return done(c);
}

int p9c_getattr(p9c *c, uint32_t fid, uint32_t *mode, uint32_t *uid, uint64_t *size)
{
    p9c_begin(c, SM_P9_TGETATTR);
    p9c_u32(c, fid);
    p9c_u64(c, SM_P9_GETATTR_BASIC);
    int e = done(c);
    if (e)
        return e;
    p9c_g64(c);                        /* valid */
    c->rpos += SM_P9_QID_SIZE;
    uint32_t m = p9c_g32(c), u = p9c_g32(c);
    p9c_g32(c);                        /* gid */
    p9c_g64(c), p9c_g64(c);            /* nlink, rdev */
    uint64_t sz = p9c_g64(c);
    if (mode) *mode = m;
    if (uid) *uid = u;
    if (size) *size = sz;
    return 0;
}

int p9c_readlink(p9c *c, uint32_t fid, char *buf, size_t len)
{
    p9c_begin(c, SM_P9_TREADLINK);
    p9c_u32(c, fid);
    int e = done(c);
    if (!e)
        p9c_gstr(c, buf, len);
    return e;
}

int p9c_remove(p9c *c, uint32_t fid)
{
    p9c_begin(c, SM_P9_TREMOVE);
    p9c_u32(c, fid);
    return done(c);
}

int p9c_readdir_all(p9c *c, uint32_t fid, uint32_t count, char *buf, size_t len)
{
    uint64_t off = 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int rounds = 0; rounds < 10000; rounds++) {
        p9c_begin(c, SM_P9_TREADDIR);
        p9c_u32(c, fid);
        p9c_u64(c, off);
        p9c_u32(c, count);
        int e = done(c);
        if (e)
            return e;
        uint32_t n = p9c_g32(c);
        if (n == 0)
            return 0;
        size_t end = c->rpos + n;
        while (c->rpos < end) {
            char name[300];
            c->rpos += SM_P9_QID_SIZE;
            off = p9c_g64(c);
            p9c_g8(c);
            p9c_gstr(c, name, sizeof name);
            int w = snprintf(buf + used, len - used, "%s%s", used ? " " : "", name);
            if (w > 0 && (size_t)w < len - used)
                used += (size_t)w;
        }
    }
    return -1;
}
