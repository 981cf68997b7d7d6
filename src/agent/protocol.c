/* The agent protocol's encoders and its one decoder; see protocol.h. */
#include "agent/protocol.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- little-endian access without alignment assumptions ---- */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void set16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void set32(uint8_t *p, uint32_t v)
{
    set16(p, (uint16_t)v);
    set16(p + 2, (uint16_t)(v >> 16));
}

static void set64(uint8_t *p, uint64_t v)
{
    set32(p, (uint32_t)v);
    set32(p + 4, (uint32_t)(v >> 32));
}

/* ---- frame types ---- */

static const struct type_info {
    const char *name;
    uint16_t flags;  /* the flag bits this type allows */
    bool data;
} types[] = {
    [SM_AGENT_HELLO] = {"HELLO", 0, false},
    [SM_AGENT_ERROR] = {"ERROR", 0, false},
    [SM_AGENT_OK] = {"OK", 0, false},
    [SM_AGENT_EXEC] = {"EXEC",
                       SM_AGENT_F_STDIN | SM_AGENT_F_PTY | SM_AGENT_F_MKCWD | SM_AGENT_F_KEEP |
                           SM_AGENT_F_NO_NEW_PRIVS,
                       false},
    [SM_AGENT_STARTED] = {"STARTED", 0, false},
    [SM_AGENT_STDIN] = {"STDIN", SM_AGENT_F_EOF, true},
    [SM_AGENT_STDOUT] = {"STDOUT", SM_AGENT_F_EOF, true},
    [SM_AGENT_STDERR] = {"STDERR", SM_AGENT_F_EOF, true},
    [SM_AGENT_SIGNAL] = {"SIGNAL", SM_AGENT_F_GROUP, false},
    [SM_AGENT_RESIZE] = {"RESIZE", 0, false},
    [SM_AGENT_EXIT] = {"EXIT", SM_AGENT_F_TIMED_OUT, false},
    [SM_AGENT_ATTACH] = {"ATTACH", 0, false},
    [SM_AGENT_FILE_WRITE] = {"FILE_WRITE", SM_AGENT_F_MKDIRS, false},
    [SM_AGENT_FILE_READ] = {"FILE_READ", SM_AGENT_F_NAMES0, false},
    [SM_AGENT_FILE_DATA] = {"FILE_DATA", SM_AGENT_F_EOF, true},
    [SM_AGENT_STAT] = {"STAT", SM_AGENT_F_NOFOLLOW, false},
    [SM_AGENT_STAT_REPLY] = {"STAT_REPLY", 0, false},
    [SM_AGENT_MKDIR] = {"MKDIR", SM_AGENT_F_MKDIRS, false},
    [SM_AGENT_LINK] = {"LINK", SM_AGENT_F_MKDIRS | SM_AGENT_F_HARD, false},
    [SM_AGENT_MOUNT] = {"MOUNT", SM_AGENT_F_RDONLY | SM_AGENT_F_TMPFS | SM_AGENT_F_REMOUNT, false},
    [SM_AGENT_TCP_CONNECT] = {"TCP_CONNECT", 0, false},
    [SM_AGENT_SYSTEM] = {"SYSTEM", SM_AGENT_F_ETC_HOSTNAME, false},
};

static const struct type_info *type_info(uint16_t type)
{
    if (type >= sizeof types / sizeof types[0] || !types[type].name)
        return NULL;
    return &types[type];
}

bool sm_agent_type_is_data(uint16_t type)
{
    const struct type_info *t = type_info(type);
    return t && t->data;
}

const char *sm_agent_type_name(uint16_t type)
{
    const struct type_info *t = type_info(type);
    return t ? t->name : "unknown";
}

int sm_agent_frame_parse(const uint8_t *buf, size_t len, sm_agent_frame *f, size_t *need,
                         const char **why)
{
    *need = SM_AGENT_HEADER_SIZE;
    if (len < SM_AGENT_HEADER_SIZE)
        return 0;
    uint32_t plen = get32(buf);
    uint16_t type = get16(buf + 4), flags = get16(buf + 6);
    const struct type_info *t = type_info(type);
    if (!t) {
        *why = "unknown frame type";
        return -EBADMSG;
    }
    if (flags & ~t->flags) {
        *why = "flags this frame type does not allow";
        return -EBADMSG;
    }
    if (plen > SM_AGENT_MAX_PAYLOAD) {
        *why = "frame larger than the protocol's maximum";
        return -EMSGSIZE;
    }
    *need = SM_AGENT_HEADER_SIZE + (size_t)plen;
    if (len < *need)
        return 0;
    *f = (sm_agent_frame){.type = type, .flags = flags, .len = plen,
                          .payload = buf + SM_AGENT_HEADER_SIZE};
    return (int)*need;
}

/* ---- writing ---- */

static bool fail(sm_agent_wbuf *b, int err)
{
    if (!b->overflow)
        b->overflow = err;
    return false;
}

static bool reserve(sm_agent_wbuf *b, size_t n)
{
    if (b->overflow)
        return false;
    size_t limit = b->frame_start + SM_AGENT_HEADER_SIZE + SM_AGENT_MAX_PAYLOAD;
    if (n > limit - b->len)
        return fail(b, EMSGSIZE);
    if (b->cap - b->len >= n)
        return true;
    if (!b->grow)
        return fail(b, ENOBUFS);
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return fail(b, ENOMEM);
    b->data = p;
    b->cap = cap;
    return true;
}

void sm_agent_frame_begin(sm_agent_wbuf *b, uint16_t type, uint16_t flags)
{
    b->frame_start = b->len;
    b->overflow = 0;
    if (!reserve(b, SM_AGENT_HEADER_SIZE))
        return;
    set16(b->data + b->len + 4, type);
    set16(b->data + b->len + 6, flags);
    b->len += SM_AGENT_HEADER_SIZE;
}

void sm_agent_put_raw(sm_agent_wbuf *b, const void *v, size_t n)
{
    if (!reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, v, n);
    b->len += n;
}

size_t sm_agent_raw_room(sm_agent_wbuf *b)
{
    if (b->overflow)
        return 0;
    size_t room = b->cap - b->len;
    size_t left = b->frame_start + SM_AGENT_HEADER_SIZE + SM_AGENT_MAX_PAYLOAD - b->len;
    return room < left ? room : left;
}

void sm_agent_put_tlv(sm_agent_wbuf *b, uint16_t tag, const void *v, size_t n)
{
    if (n > SM_AGENT_MAX_PAYLOAD) {
        fail(b, EMSGSIZE);
        return;
    }
    if (!reserve(b, SM_AGENT_TLV_HEADER_SIZE + n))
        return;
    set16(b->data + b->len, tag);
    set32(b->data + b->len + 2, (uint32_t)n);
    b->len += SM_AGENT_TLV_HEADER_SIZE;
    sm_agent_put_raw(b, v, n);
}

void sm_agent_put_u32(sm_agent_wbuf *b, uint16_t tag, uint32_t v)
{
    uint8_t le[4];
    set32(le, v);
    sm_agent_put_tlv(b, tag, le, sizeof le);
}

void sm_agent_put_u64(sm_agent_wbuf *b, uint16_t tag, uint64_t v)
{
    uint8_t le[8];
    set64(le, v);
    sm_agent_put_tlv(b, tag, le, sizeof le);
}

void sm_agent_put_str(sm_agent_wbuf *b, uint16_t tag, const char *s)
{
    sm_agent_put_tlv(b, tag, s, strlen(s) + 1);
}

void sm_agent_frame_flags(sm_agent_wbuf *b, uint16_t flags)
{
    if (!b->overflow)
        set16(b->data + b->frame_start + 6, flags);
}

void sm_agent_frame_cancel(sm_agent_wbuf *b)
{
    b->len = b->frame_start;
    b->overflow = 0;
}

int sm_agent_frame_end(sm_agent_wbuf *b)
{
    if (b->overflow) {
        int err = b->overflow;
        sm_agent_frame_cancel(b);
        return -err;
    }
    size_t plen = b->len - b->frame_start - SM_AGENT_HEADER_SIZE;
    set32(b->data + b->frame_start, (uint32_t)plen);
    b->frame_start = b->len;
    return 0;
}

void sm_agent_wbuf_free(sm_agent_wbuf *b)
{
    free(b->data);
    *b = (sm_agent_wbuf){0};
}

/* ---- encoders ---- */

int sm_agent_encode_hello(sm_agent_wbuf *b, const sm_agent_hello *m)
{
    sm_agent_frame_begin(b, SM_AGENT_HELLO, 0);
    sm_agent_put_u32(b, SM_AGENT_T_VERSION, m->version);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_error(sm_agent_wbuf *b, const sm_agent_error *m)
{
    sm_agent_frame_begin(b, SM_AGENT_ERROR, 0);
    sm_agent_put_u32(b, SM_AGENT_T_ERRNO, (uint32_t)m->err);
    if (m->message)
        sm_agent_put_str(b, SM_AGENT_T_MESSAGE, m->message);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_ok(sm_agent_wbuf *b, uint64_t size)
{
    sm_agent_frame_begin(b, SM_AGENT_OK, 0);
    sm_agent_put_u64(b, SM_AGENT_T_SIZE, size);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_exec(sm_agent_wbuf *b, const sm_agent_exec_req *m)
{
    uint16_t flags = (m->stdin_pipe ? SM_AGENT_F_STDIN : 0) | (m->pty ? SM_AGENT_F_PTY : 0) |
                     (m->mkcwd ? SM_AGENT_F_MKCWD : 0) | (m->keep ? SM_AGENT_F_KEEP : 0) |
                     (m->no_new_privs ? SM_AGENT_F_NO_NEW_PRIVS : 0);
    sm_agent_frame_begin(b, SM_AGENT_EXEC, flags);
    for (size_t i = 0; m->argv && m->argv[i]; i++)
        sm_agent_put_str(b, SM_AGENT_T_ARG, m->argv[i]);
    for (size_t i = 0; m->env && m->env[i]; i++)
        sm_agent_put_str(b, SM_AGENT_T_ENV, m->env[i]);
    if (m->cwd)
        sm_agent_put_str(b, SM_AGENT_T_CWD, m->cwd);
    if (m->uid >= 0)
        sm_agent_put_u32(b, SM_AGENT_T_UID, (uint32_t)m->uid);
    if (m->gid >= 0)
        sm_agent_put_u32(b, SM_AGENT_T_GID, (uint32_t)m->gid);
    if (m->has_groups) {
        if (m->ngroups > SM_AGENT_MAX_PAYLOAD / 4) {
            sm_agent_frame_cancel(b);
            return -EMSGSIZE;
        }
        uint8_t *le = malloc(4 * m->ngroups + 1);
        if (!le) {
            sm_agent_frame_cancel(b);
            return -ENOMEM;
        }
        for (size_t i = 0; i < m->ngroups; i++)
            set32(le + 4 * i, m->groups[i]);
        sm_agent_put_tlv(b, SM_AGENT_T_GROUPS, le, 4 * m->ngroups);
        free(le);
    }
    if (m->timeout_ms)
        sm_agent_put_u64(b, SM_AGENT_T_TIMEOUT_MS, m->timeout_ms);
    if (m->rows)
        sm_agent_put_u32(b, SM_AGENT_T_ROWS, m->rows);
    if (m->cols)
        sm_agent_put_u32(b, SM_AGENT_T_COLS, m->cols);
    if (m->root)
        sm_agent_put_str(b, SM_AGENT_T_ROOT, m->root);
    if (m->has_umask)
        sm_agent_put_u32(b, SM_AGENT_T_UMASK, m->umask);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_started(sm_agent_wbuf *b, uint32_t pid)
{
    sm_agent_frame_begin(b, SM_AGENT_STARTED, 0);
    sm_agent_put_u32(b, SM_AGENT_T_PID, pid);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_signal(sm_agent_wbuf *b, const sm_agent_signal *m)
{
    sm_agent_frame_begin(b, SM_AGENT_SIGNAL, m->group ? SM_AGENT_F_GROUP : 0);
    sm_agent_put_u32(b, SM_AGENT_T_SIGNO, m->signo);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_resize(sm_agent_wbuf *b, const sm_agent_winsize *m)
{
    sm_agent_frame_begin(b, SM_AGENT_RESIZE, 0);
    sm_agent_put_u32(b, SM_AGENT_T_ROWS, m->rows);
    sm_agent_put_u32(b, SM_AGENT_T_COLS, m->cols);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_exit(sm_agent_wbuf *b, const sm_agent_exit *m)
{
    sm_agent_frame_begin(b, SM_AGENT_EXIT, m->timed_out ? SM_AGENT_F_TIMED_OUT : 0);
    if (m->termsig)
        sm_agent_put_u32(b, SM_AGENT_T_TERMSIG, (uint32_t)m->termsig);
    else
        sm_agent_put_u32(b, SM_AGENT_T_STATUS, (uint32_t)m->status);
    sm_agent_put_u64(b, SM_AGENT_T_MAXRSS_KIB, m->maxrss_kib);
    sm_agent_put_u64(b, SM_AGENT_T_UTIME_US, m->utime_us);
    sm_agent_put_u64(b, SM_AGENT_T_STIME_US, m->stime_us);
    return sm_agent_frame_end(b);
}

static bool creates(uint16_t type)
{
    return type == SM_AGENT_FILE_WRITE || type == SM_AGENT_MKDIR || type == SM_AGENT_LINK;
}

static uint16_t file_req_flags(uint16_t type, const sm_agent_file_req *m)
{
    uint16_t flags = 0;
    if (creates(type) && m->mkdirs)
        flags |= SM_AGENT_F_MKDIRS;
    if (type == SM_AGENT_STAT && m->nofollow)
        flags |= SM_AGENT_F_NOFOLLOW;
    if (type == SM_AGENT_FILE_READ && m->names0)
        flags |= SM_AGENT_F_NAMES0;
    if (type == SM_AGENT_LINK && m->hard)
        flags |= SM_AGENT_F_HARD;
    return flags;
}

int sm_agent_encode_file_req(sm_agent_wbuf *b, uint16_t type, const sm_agent_file_req *m)
{
    sm_agent_frame_begin(b, type, file_req_flags(type, m));
    sm_agent_put_str(b, SM_AGENT_T_PATH, m->path);
    if (type == SM_AGENT_LINK)
        sm_agent_put_str(b, SM_AGENT_T_TARGET, m->target ? m->target : "");
    if (type == SM_AGENT_FILE_WRITE || type == SM_AGENT_MKDIR)
        sm_agent_put_u32(b, SM_AGENT_T_MODE,
                         m->mode ? m->mode : type == SM_AGENT_MKDIR ? 0755 : 0644);
    if (creates(type)) {
        if (m->uid >= 0)
            sm_agent_put_u32(b, SM_AGENT_T_UID, (uint32_t)m->uid);
        if (m->gid >= 0)
            sm_agent_put_u32(b, SM_AGENT_T_GID, (uint32_t)m->gid);
    }
    return sm_agent_frame_end(b);
}

int sm_agent_encode_stat_reply(sm_agent_wbuf *b, const sm_agent_stat_reply *m)
{
    sm_agent_frame_begin(b, SM_AGENT_STAT_REPLY, 0);
    sm_agent_put_u32(b, SM_AGENT_T_MODE, m->mode);
    sm_agent_put_u64(b, SM_AGENT_T_SIZE, m->size);
    sm_agent_put_u32(b, SM_AGENT_T_UID, m->uid);
    sm_agent_put_u32(b, SM_AGENT_T_GID, m->gid);
    sm_agent_put_u64(b, SM_AGENT_T_MTIME, (uint64_t)m->mtime);
    sm_agent_put_u32(b, SM_AGENT_T_MTIME_NSEC, m->mtime_nsec);
    if (m->target)
        sm_agent_put_str(b, SM_AGENT_T_TARGET, m->target);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_data(sm_agent_wbuf *b, uint16_t type, const void *data, size_t len, bool eof)
{
    sm_agent_frame_begin(b, type, eof ? SM_AGENT_F_EOF : 0);
    sm_agent_put_raw(b, data, len);
    return sm_agent_frame_end(b);
}

int sm_agent_encode_data_header(sm_agent_wbuf *b, uint16_t type, uint32_t len, bool eof)
{
    if (len > SM_AGENT_MAX_PAYLOAD || !sm_agent_type_is_data(type))
        return -EMSGSIZE;
    sm_agent_frame_begin(b, type, eof ? SM_AGENT_F_EOF : 0);
    if (b->overflow) {
        int err = b->overflow;
        sm_agent_frame_cancel(b);
        return -err;
    }
    set32(b->data + b->frame_start, len);
    b->frame_start = b->len;
    return 0;
}

/* ---- decoding ---- */

int sm_agent_tlv_next(sm_agent_tlv_iter *it, uint16_t *tag, const uint8_t **val, uint32_t *len)
{
    if (it->left == 0)
        return 0;
    if (it->left < SM_AGENT_TLV_HEADER_SIZE)
        return -EBADMSG;
    uint32_t n = get32(it->p + 2);
    if (n > it->left - SM_AGENT_TLV_HEADER_SIZE)
        return -EBADMSG;
    *tag = get16(it->p);
    *len = n;
    *val = it->p + SM_AGENT_TLV_HEADER_SIZE;
    it->p += SM_AGENT_TLV_HEADER_SIZE + n;
    it->left -= SM_AGENT_TLV_HEADER_SIZE + n;
    return 1;
}

enum kind { K_NONE, K_U32, K_U64, K_STR, K_U32S, K_BYTES };

static const uint8_t tag_kind[] = {
    [SM_AGENT_T_VERSION] = K_U32,   [SM_AGENT_T_ERRNO] = K_U32,
    [SM_AGENT_T_MESSAGE] = K_STR,   [SM_AGENT_T_ARG] = K_STR,
    [SM_AGENT_T_ENV] = K_STR,       [SM_AGENT_T_CWD] = K_STR,
    [SM_AGENT_T_UID] = K_U32,       [SM_AGENT_T_GID] = K_U32,
    [SM_AGENT_T_GROUPS] = K_U32S,   [SM_AGENT_T_TIMEOUT_MS] = K_U64,
    [SM_AGENT_T_ROWS] = K_U32,      [SM_AGENT_T_COLS] = K_U32,
    [SM_AGENT_T_PID] = K_U32,       [SM_AGENT_T_SIGNO] = K_U32,
    [SM_AGENT_T_STATUS] = K_U32,    [SM_AGENT_T_TERMSIG] = K_U32,
    [SM_AGENT_T_MAXRSS_KIB] = K_U64, [SM_AGENT_T_UTIME_US] = K_U64,
    [SM_AGENT_T_STIME_US] = K_U64,  [SM_AGENT_T_PATH] = K_STR,
    [SM_AGENT_T_MODE] = K_U32,      [SM_AGENT_T_SIZE] = K_U64,
    [SM_AGENT_T_MTIME] = K_U64,     [SM_AGENT_T_MTIME_NSEC] = K_U32,
    [SM_AGENT_T_TARGET] = K_STR,
    [SM_AGENT_T_ROOT] = K_STR,      [SM_AGENT_T_UMASK] = K_U32,
    [SM_AGENT_T_HOSTNAME] = K_STR,  [SM_AGENT_T_REALTIME_NS] = K_U64,
    [SM_AGENT_T_SEED] = K_BYTES, [SM_AGENT_T_ETC_HOSTS] = K_STR,
    [SM_AGENT_T_RESOLV_CONF] = K_STR,
};
#define NTAGS (sizeof tag_kind / sizeof tag_kind[0])
/* collect()'s `repeated` mask has a bit per known tag. */
_Static_assert(NTAGS <= 64, "the repeated-tags mask of collect() is 64 bits");
#define TAG_BIT(t) ((uint64_t)1 << (t))

/* The known tags of one frame, each checked against its kind. */
typedef struct fields {
    const uint8_t *val[NTAGS];
    uint32_t len[NTAGS];
    uint32_t count[NTAGS];
} fields;

static bool valid_value(enum kind k, const uint8_t *v, uint32_t n)
{
    switch (k) {
    case K_U32: return n == 4;
    case K_U64: return n == 8;
    case K_U32S: return n % 4 == 0;
    case K_STR: return n >= 1 && v[n - 1] == 0 && !memchr(v, 0, n - 1);
    default: return true;
    }
}

static int bad(const char **why, const char *reason)
{
    *why = reason;
    return -EBADMSG;
}

/* `repeated`: a bit mask (TAG_BIT) of the tags that may appear more than
 * once. */
static int collect(const sm_agent_frame *f, uint64_t repeated, fields *fs, const char **why)
{
    memset(fs, 0, sizeof *fs);
    sm_agent_tlv_iter it = {f->payload, f->len};
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    int r;
    while ((r = sm_agent_tlv_next(&it, &tag, &v, &n)) > 0) {
        if (tag >= NTAGS || tag_kind[tag] == K_NONE)
            continue;
        if (!valid_value(tag_kind[tag], v, n))
            return bad(why, tag_kind[tag] == K_STR ? "a string field is not one NUL-terminated string"
                                                   : "a field has the wrong size");
        if (fs->count[tag] && !(repeated & TAG_BIT(tag)))
            return bad(why, "a field appears twice");
        if (!fs->count[tag]++) {
            fs->val[tag] = v;
            fs->len[tag] = n;
        }
    }
    return r < 0 ? bad(why, "a field overruns the frame") : 0;
}

static int expect_type(const sm_agent_frame *f, uint16_t type, const char **why)
{
    return f->type == type ? 0 : bad(why, "unexpected frame type");
}

static bool has(const fields *fs, uint16_t tag)
{
    return fs->count[tag] != 0;
}

static uint32_t u32(const fields *fs, uint16_t tag, uint32_t dflt)
{
    return has(fs, tag) ? get32(fs->val[tag]) : dflt;
}

static uint64_t u64(const fields *fs, uint16_t tag, uint64_t dflt)
{
    return has(fs, tag) ? get64(fs->val[tag]) : dflt;
}

static const char *str(const fields *fs, uint16_t tag)
{
    return has(fs, tag) ? (const char *)fs->val[tag] : NULL;
}

int sm_agent_decode_hello(const sm_agent_frame *f, sm_agent_hello *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_HELLO, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    if (!has(&fs, SM_AGENT_T_VERSION))
        return bad(why, "HELLO without a version");
    m->version = u32(&fs, SM_AGENT_T_VERSION, 0);
    return 0;
}

int sm_agent_decode_error(const sm_agent_frame *f, sm_agent_error *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_ERROR, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    uint32_t e = u32(&fs, SM_AGENT_T_ERRNO, 0);
    if (e == 0 || e > 4095)
        return bad(why, "ERROR without a valid errno");
    m->err = (int)e;
    m->message = str(&fs, SM_AGENT_T_MESSAGE);
    return 0;
}

int sm_agent_decode_ok(const sm_agent_frame *f, uint64_t *size, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_OK, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    *size = u64(&fs, SM_AGENT_T_SIZE, 0);
    return 0;
}

/* One allocation holds argv, env and groups. */
static int exec_arrays(const sm_agent_frame *f, const fields *fs, sm_agent_exec_req *m)
{
    size_t nargs = fs->count[SM_AGENT_T_ARG], nenv = fs->count[SM_AGENT_T_ENV];
    size_t ngroups = has(fs, SM_AGENT_T_GROUPS) ? fs->len[SM_AGENT_T_GROUPS] / 4 : 0;
    size_t ptrs = nargs + 1 + (nenv ? nenv + 1 : 0);
    void *mem = malloc(ptrs * sizeof(char *) + ngroups * sizeof(uint32_t) + 1);
    if (!mem)
        return -ENOMEM;
    const char **argv = mem, **env = nenv ? argv + nargs + 1 : NULL;
    uint32_t *groups = (uint32_t *)(argv + ptrs);
    size_t ia = 0, ie = 0;
    sm_agent_tlv_iter it = {f->payload, f->len};
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    while (sm_agent_tlv_next(&it, &tag, &v, &n) > 0) {
        if (tag == SM_AGENT_T_ARG)
            argv[ia++] = (const char *)v;
        else if (tag == SM_AGENT_T_ENV)
            env[ie++] = (const char *)v;
    }
    argv[ia] = NULL;
    if (env)
        env[ie] = NULL;
    for (size_t i = 0; i < ngroups; i++)
        groups[i] = get32(fs->val[SM_AGENT_T_GROUPS] + 4 * i);
    m->argv = argv;
    m->env = env;
    m->groups = groups;
    m->ngroups = ngroups;
    return 0;
}

int sm_agent_decode_exec(const sm_agent_frame *f, sm_agent_exec_req *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_EXEC, why);
    if (err || (err = collect(f, TAG_BIT(SM_AGENT_T_ARG) | TAG_BIT(SM_AGENT_T_ENV), &fs, why)))
        return err;
    if (!has(&fs, SM_AGENT_T_ARG))
        return bad(why, "EXEC without a command");
    uint32_t rows = u32(&fs, SM_AGENT_T_ROWS, 0), cols = u32(&fs, SM_AGENT_T_COLS, 0);
    if (rows > UINT16_MAX || cols > UINT16_MAX)
        return bad(why, "EXEC with a window size out of range");
    const char *root = str(&fs, SM_AGENT_T_ROOT);
    if (root && root[0] != '/')
        return bad(why, "EXEC with a root that is not an absolute path");
    if (u32(&fs, SM_AGENT_T_UMASK, 0) > 0777)
        return bad(why, "EXEC with a umask beyond 0777");
    *m = (sm_agent_exec_req){
        .cwd = str(&fs, SM_AGENT_T_CWD),
        .uid = has(&fs, SM_AGENT_T_UID) ? (int64_t)u32(&fs, SM_AGENT_T_UID, 0) : -1,
        .gid = has(&fs, SM_AGENT_T_GID) ? (int64_t)u32(&fs, SM_AGENT_T_GID, 0) : -1,
        .has_groups = has(&fs, SM_AGENT_T_GROUPS),
        .timeout_ms = u64(&fs, SM_AGENT_T_TIMEOUT_MS, 0),
        .stdin_pipe = f->flags & SM_AGENT_F_STDIN,
        .pty = f->flags & SM_AGENT_F_PTY,
        .mkcwd = f->flags & SM_AGENT_F_MKCWD,
        .keep = f->flags & SM_AGENT_F_KEEP,
        .rows = (uint16_t)rows,
        .cols = (uint16_t)cols,
        .root = root,
        .has_umask = has(&fs, SM_AGENT_T_UMASK),
        .umask = u32(&fs, SM_AGENT_T_UMASK, 0),
        .no_new_privs = f->flags & SM_AGENT_F_NO_NEW_PRIVS,
    };
    return exec_arrays(f, &fs, m);
}

void sm_agent_exec_req_release(sm_agent_exec_req *m)
{
    free((void *)m->argv);
    m->argv = m->env = NULL;
    m->groups = NULL;
}

int sm_agent_decode_started(const sm_agent_frame *f, uint32_t *pid, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_STARTED, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    if (!has(&fs, SM_AGENT_T_PID))
        return bad(why, "STARTED without a pid");
    *pid = u32(&fs, SM_AGENT_T_PID, 0);
    return 0;
}

int sm_agent_encode_attach(sm_agent_wbuf *b, uint32_t pid)
{
    sm_agent_frame_begin(b, SM_AGENT_ATTACH, 0);
    sm_agent_put_u32(b, SM_AGENT_T_PID, pid);
    return sm_agent_frame_end(b);
}

int sm_agent_decode_attach(const sm_agent_frame *f, uint32_t *pid, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_ATTACH, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    uint32_t p = u32(&fs, SM_AGENT_T_PID, 0);
    /* A pid is a positive pid_t: 0 and "negative" ones would name groups. */
    if (p < 1 || p > INT32_MAX)
        return bad(why, "ATTACH without a valid pid");
    *pid = p;
    return 0;
}

int sm_agent_decode_signal(const sm_agent_frame *f, sm_agent_signal *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_SIGNAL, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    uint32_t signo = u32(&fs, SM_AGENT_T_SIGNO, 0);
    if (signo < 1 || signo > 64)
        return bad(why, "SIGNAL without a valid signal number");
    *m = (sm_agent_signal){.signo = signo, .group = f->flags & SM_AGENT_F_GROUP};
    return 0;
}

int sm_agent_decode_resize(const sm_agent_frame *f, sm_agent_winsize *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_RESIZE, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    if (!has(&fs, SM_AGENT_T_ROWS) || !has(&fs, SM_AGENT_T_COLS))
        return bad(why, "RESIZE without rows and columns");
    uint32_t rows = u32(&fs, SM_AGENT_T_ROWS, 0), cols = u32(&fs, SM_AGENT_T_COLS, 0);
    if (rows > UINT16_MAX || cols > UINT16_MAX)
        return bad(why, "RESIZE out of range");
    *m = (sm_agent_winsize){.rows = (uint16_t)rows, .cols = (uint16_t)cols};
    return 0;
}

int sm_agent_decode_exit(const sm_agent_frame *f, sm_agent_exit *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_EXIT, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    bool exited = has(&fs, SM_AGENT_T_STATUS), killed = has(&fs, SM_AGENT_T_TERMSIG);
    if (exited == killed)
        return bad(why, "EXIT needs exactly one of a status and a signal");
    uint32_t status = u32(&fs, SM_AGENT_T_STATUS, 0), sig = u32(&fs, SM_AGENT_T_TERMSIG, 0);
    if ((exited && status > 255) || (killed && (sig < 1 || sig > 64)))
        return bad(why, "EXIT with a status or signal out of range");
    *m = (sm_agent_exit){
        .status = exited ? (int)status : -1,
        .termsig = (int)sig,
        .timed_out = f->flags & SM_AGENT_F_TIMED_OUT,
        .maxrss_kib = u64(&fs, SM_AGENT_T_MAXRSS_KIB, 0),
        .utime_us = u64(&fs, SM_AGENT_T_UTIME_US, 0),
        .stime_us = u64(&fs, SM_AGENT_T_STIME_US, 0),
    };
    return 0;
}

int sm_agent_decode_file_req(const sm_agent_frame *f, sm_agent_file_req *m, const char **why)
{
    fields fs;
    if (f->type != SM_AGENT_FILE_WRITE && f->type != SM_AGENT_FILE_READ &&
        f->type != SM_AGENT_STAT && f->type != SM_AGENT_MKDIR && f->type != SM_AGENT_LINK)
        return bad(why, "unexpected frame type");
    int err = collect(f, 0, &fs, why);
    if (err)
        return err;
    if (!has(&fs, SM_AGENT_T_PATH) || fs.len[SM_AGENT_T_PATH] < 2)
        return bad(why, "a file operation without a path");
    if (f->type == SM_AGENT_LINK &&
        (fs.len[SM_AGENT_T_TARGET] < 2 || fs.len[SM_AGENT_T_TARGET] > SM_AGENT_TARGET_MAX + 1))
        return bad(why, "LINK without a target of 1 to 4095 bytes");
    uint32_t mode = u32(&fs, SM_AGENT_T_MODE, f->type == SM_AGENT_MKDIR ? 0755 : 0644);
    if (mode & ~07777u)
        return bad(why, "a file mode with more than permission bits");
    *m = (sm_agent_file_req){
        .path = str(&fs, SM_AGENT_T_PATH),
        .mode = mode,
        .mkdirs = creates(f->type) && (f->flags & SM_AGENT_F_MKDIRS),
        .nofollow = f->type == SM_AGENT_STAT && (f->flags & SM_AGENT_F_NOFOLLOW),
        .names0 = f->type == SM_AGENT_FILE_READ && (f->flags & SM_AGENT_F_NAMES0),
        .hard = f->type == SM_AGENT_LINK && (f->flags & SM_AGENT_F_HARD),
        .target = f->type == SM_AGENT_LINK ? str(&fs, SM_AGENT_T_TARGET) : NULL,
        .uid = has(&fs, SM_AGENT_T_UID) ? (int64_t)u32(&fs, SM_AGENT_T_UID, 0) : -1,
        .gid = has(&fs, SM_AGENT_T_GID) ? (int64_t)u32(&fs, SM_AGENT_T_GID, 0) : -1,
    };
    return 0;
}

int sm_agent_decode_stat_reply(const sm_agent_frame *f, sm_agent_stat_reply *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_STAT_REPLY, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    if (!has(&fs, SM_AGENT_T_MODE) || !has(&fs, SM_AGENT_T_SIZE))
        return bad(why, "STAT_REPLY without mode and size");
    *m = (sm_agent_stat_reply){
        .mode = u32(&fs, SM_AGENT_T_MODE, 0),
        .size = u64(&fs, SM_AGENT_T_SIZE, 0),
        .uid = u32(&fs, SM_AGENT_T_UID, 0),
        .gid = u32(&fs, SM_AGENT_T_GID, 0),
        .mtime = (int64_t)u64(&fs, SM_AGENT_T_MTIME, 0),
        .mtime_nsec = u32(&fs, SM_AGENT_T_MTIME_NSEC, 0),
        .target = str(&fs, SM_AGENT_T_TARGET),
    };
    if (m->mtime_nsec >= 1000000000u)
        return bad(why, "STAT_REPLY with nanoseconds out of range");
    if (fs.len[SM_AGENT_T_TARGET] > SM_AGENT_TARGET_MAX + 1)
        return bad(why, "STAT_REPLY with a link target of more than 4095 bytes");
    return 0;
}

int sm_agent_encode_system(sm_agent_wbuf *b, const sm_agent_system *m)
{
    sm_agent_frame_begin(b, SM_AGENT_SYSTEM, m->etc_hostname ? SM_AGENT_F_ETC_HOSTNAME : 0);
    if (m->hostname)
        sm_agent_put_str(b, SM_AGENT_T_HOSTNAME, m->hostname);
    if (m->etc_hosts)
        sm_agent_put_str(b, SM_AGENT_T_ETC_HOSTS, m->etc_hosts);
    if (m->resolv_conf)
        sm_agent_put_str(b, SM_AGENT_T_RESOLV_CONF, m->resolv_conf);
    if (m->realtime_ns)
        sm_agent_put_u64(b, SM_AGENT_T_REALTIME_NS, m->realtime_ns);
    if (m->seed)
        sm_agent_put_tlv(b, SM_AGENT_T_SEED, m->seed, m->seed_len);
    return sm_agent_frame_end(b);
}

int sm_agent_decode_system(const sm_agent_frame *f, sm_agent_system *m, const char **why)
{
    fields fs;
    int err = expect_type(f, SM_AGENT_SYSTEM, why);
    if (err || (err = collect(f, 0, &fs, why)))
        return err;
    /* 64: the kernel's __NEW_UTS_LEN; with the NUL, 65. */
    if (has(&fs, SM_AGENT_T_HOSTNAME) && (fs.len[SM_AGENT_T_HOSTNAME] < 2 ||
                                          fs.len[SM_AGENT_T_HOSTNAME] > 65))
        return bad(why, "a hostname must have 1 to 64 bytes");
    if (fs.len[SM_AGENT_T_SEED] > SM_AGENT_SEED_MAX)
        return bad(why, "a seed of more than 512 bytes");
    if (fs.len[SM_AGENT_T_ETC_HOSTS] > SM_AGENT_ETC_MAX + 1 ||
        fs.len[SM_AGENT_T_RESOLV_CONF] > SM_AGENT_ETC_MAX + 1)
        return bad(why, "an /etc file of more than 4 KiB");
    if ((f->flags & SM_AGENT_F_ETC_HOSTNAME) && !has(&fs, SM_AGENT_T_HOSTNAME))
        return bad(why, "/etc/hostname asked for without a hostname");
    *m = (sm_agent_system){
        .hostname = str(&fs, SM_AGENT_T_HOSTNAME),
        .realtime_ns = u64(&fs, SM_AGENT_T_REALTIME_NS, 0),
        .seed = has(&fs, SM_AGENT_T_SEED) ? fs.val[SM_AGENT_T_SEED] : NULL,
        .seed_len = fs.len[SM_AGENT_T_SEED],
        .etc_hostname = (f->flags & SM_AGENT_F_ETC_HOSTNAME) != 0,
        .etc_hosts = str(&fs, SM_AGENT_T_ETC_HOSTS),
        .resolv_conf = str(&fs, SM_AGENT_T_RESOLV_CONF),
    };
    return 0;
}
