/* The launch spec's one writer and one reader (see spec.h). Both walk the
 * same tables, so a field added to the struct and its table is written
 * and read alike. */
#include "worker/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"

typedef enum kind { K_STR, K_NUM, K_FD, K_BOOL, K_LIST } kind;

struct list;

/* One key and where its value lives in the struct its table describes. */
typedef struct field {
    const char *key;
    kind kind;
    size_t off;
    size_t size;               /* K_STR: the buffer; K_NUM: the integer (2 or 4) */
    uint32_t max;              /* K_NUM: the largest value taken */
    const struct list *list;   /* K_LIST: its elements */
} field;

typedef struct list {
    const field *fields;
    size_t nfields;
    size_t elem_size;
    size_t count_off;          /* the unsigned count beside the array */
    unsigned max;
} list;

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define STR(T, m) {#m, K_STR, offsetof(T, m), MEMBER_SIZE(T, m), 0, NULL}
#define NUM(T, m, hi) {#m, K_NUM, offsetof(T, m), MEMBER_SIZE(T, m), hi, NULL}
#define FD(T, m) {#m, K_FD, offsetof(T, m), 0, 0, NULL}
#define BOOL(T, m) {#m, K_BOOL, offsetof(T, m), 0, 0, NULL}
#define LIST(T, m, l) {#m, K_LIST, offsetof(T, m), 0, 0, &l}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const field disk_fields[] = {
    STR(sm_worker_disk, path), BOOL(sm_worker_disk, read_only),
};
static const field port_fields[] = {
    STR(sm_net_port, host_ip), NUM(sm_net_port, host_port, 65535),
    NUM(sm_net_port, guest_port, 65535), BOOL(sm_net_port, udp),
};
static const field share_fields[] = {
    STR(sm_worker_share, host_path), STR(sm_worker_share, tag),
    BOOL(sm_worker_share, read_only),
};
static const list disks = {disk_fields, COUNT(disk_fields), sizeof(sm_worker_disk),
                           offsetof(sm_worker_spec, ndisks), SM_MACHINE_MAX_DISKS};
static const list ports = {port_fields, COUNT(port_fields), sizeof(sm_net_port),
                           offsetof(sm_worker_spec, nports), SM_NET_MAX_PORTS};
static const list shares = {share_fields, COUNT(share_fields), sizeof(sm_worker_share),
                            offsetof(sm_worker_spec, nshares), SM_MACHINE_MAX_SHARES};

static const field spec_fields[] = {
    STR(sm_worker_spec, dir),
    FD(sm_worker_spec, ready_fd), FD(sm_worker_spec, lifeline_fd), FD(sm_worker_spec, lock_fd),
    STR(sm_worker_spec, kernel), STR(sm_worker_spec, initrd), STR(sm_worker_spec, cmdline),
    NUM(sm_worker_spec, memory_mib, SM_WORKER_MAX_MEMORY_MIB),
    NUM(sm_worker_spec, cpus, SM_WORKER_MAX_CPUS),
    NUM(sm_worker_spec, cpu_quota_milli, SM_WORKER_MAX_CPUS * 1000),
    LIST(sm_worker_spec, disks, disks),
    BOOL(sm_worker_spec, net_user), LIST(sm_worker_spec, ports, ports),
    FD(sm_worker_spec, net_tap_fd), STR(sm_worker_spec, net_mac),
    NUM(sm_worker_spec, net_mtu, 65535),
    LIST(sm_worker_spec, shares, shares),
    STR(sm_worker_spec, restore),
    BOOL(sm_worker_spec, auto_remove), BOOL(sm_worker_spec, detach),
};

void sm_worker_spec_init(sm_worker_spec *s)
{
    memset(s, 0, sizeof *s);
    s->ready_fd = s->lifeline_fd = s->lock_fd = s->net_tap_fd = -1;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool sm_worker_spec_mac(const char *text, uint8_t mac[6])
{
    if (strlen(text) != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        const char *p = text + 3 * i;
        int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
        if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
            return false;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* ---- writing ---- */

static json_t *encode_fields(const field *f, size_t n, const void *base);

static json_t *encode_list(const list *l, const char *elems, unsigned count)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < count && i < l->max; i++)
        if (json_array_append_new(a, encode_fields(l->fields, l->nfields,
                                                   elems + i * l->elem_size)) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *encode_one(const field *f, const void *base)
{
    const char *p = (const char *)base + f->off;
    switch (f->kind) {
    case K_STR: return json_string(p);   /* NULL unless UTF-8 */
    case K_NUM: return json_integer(f->size == 2 ? *(const uint16_t *)p : *(const uint32_t *)p);
    case K_FD: return json_integer(*(const int *)p);
    case K_BOOL: return json_boolean(*(const bool *)p);
    case K_LIST:
        return encode_list(f->list, p, *(const unsigned *)((const char *)base + f->list->count_off));
    }
    return NULL;
}

/* NULL if any value cannot be JSON (a path that is not UTF-8). */
static json_t *encode_fields(const field *f, size_t n, const void *base)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        json_t *v = encode_one(&f[i], base);
        if (!v || json_object_set_new(o, f[i].key, v) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    return o;
}

int sm_worker_spec_encode(const sm_worker_spec *s, char **out, size_t *len)
{
    json_t *o = encode_fields(spec_fields, COUNT(spec_fields), s);
    if (o && json_object_set_new(o, "version", json_integer(SM_WORKER_SPEC_VERSION)) < 0) {
        json_decref(o);
        o = NULL;
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return sm_fail(EINVAL, "cannot write the worker's launch spec: a path or the "
                       "command line is not valid UTF-8");
    *out = text;
    *len = strlen(text);
    return 0;
}

/* ---- reading ---- */

static int decode_fields(const field *f, size_t n, json_t *o, void *base, const char *where);

static int decode_string(const field *f, json_t *v, char *p, const char *where)
{
    if (!json_is_string(v))
        return sm_fail(EINVAL, "worker spec: %s%s must be a string", where, f->key);
    size_t len = json_string_length(v);
    if (len >= f->size)
        return sm_fail(EINVAL, "worker spec: %s%s is %zu bytes long, at most %zu", where,
                       f->key, len, f->size - 1);
    /* NUL inside is refused by the parser (no JSON_ALLOW_NUL). */
    memcpy(p, json_string_value(v), len + 1);
    return 0;
}

static int decode_number(const field *f, json_t *v, char *p, const char *where)
{
    if (!json_is_integer(v))
        return sm_fail(EINVAL, "worker spec: %s%s must be an integer", where, f->key);
    json_int_t x = json_integer_value(v);
    json_int_t lo = f->kind == K_FD ? -1 : 0;
    json_int_t hi = f->kind == K_FD ? SM_WORKER_MAX_FD : (json_int_t)f->max;
    if (x < lo || x > hi)
        return sm_fail(EINVAL, "worker spec: %s%s is %lld, not between %lld and %lld", where,
                       f->key, (long long)x, (long long)lo, (long long)hi);
    if (f->kind == K_FD)
        *(int *)p = (int)x;
    else if (f->size == 2)
        *(uint16_t *)p = (uint16_t)x;
    else
        *(uint32_t *)p = (uint32_t)x;
    return 0;
}

static int decode_list(const field *f, json_t *v, char *p, void *base, const char *where)
{
    const list *l = f->list;
    if (!json_is_array(v))
        return sm_fail(EINVAL, "worker spec: %s%s must be an array", where, f->key);
    if (json_array_size(v) > l->max)
        return sm_fail(EINVAL, "worker spec: %zu %s, at most %u", json_array_size(v), f->key,
                       l->max);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char at[64];
        snprintf(at, sizeof at, "%s%s[%zu].", where, f->key, i);
        if (!json_is_object(e))
            return sm_fail(EINVAL, "worker spec: %s%s[%zu] must be an object", where, f->key, i);
        int err = decode_fields(l->fields, l->nfields, e, p + i * l->elem_size, at);
        if (err)
            return err;
    }
    *(unsigned *)((char *)base + l->count_off) = (unsigned)json_array_size(v);
    return 0;
}

static int decode_one(const field *f, json_t *v, void *base, const char *where)
{
    char *p = (char *)base + f->off;
    switch (f->kind) {
    case K_STR: return decode_string(f, v, p, where);
    case K_NUM:
    case K_FD: return decode_number(f, v, p, where);
    case K_BOOL:
        if (!json_is_boolean(v))
            return sm_fail(EINVAL, "worker spec: %s%s must be true or false", where, f->key);
        *(bool *)p = json_is_true(v);
        return 0;
    case K_LIST: return decode_list(f, v, p, base, where);
    }
    return sm_fail(EINVAL, "worker spec: %s%s has no kind", where, f->key);
}

static const field *find(const field *f, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(f[i].key, key))
            return &f[i];
    return NULL;
}

static int decode_fields(const field *f, size_t n, json_t *o, void *base, const char *where)
{
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        const field *k = find(f, n, key);
        if (!k && !*where && !strcmp(key, "version"))
            continue;
        if (!k)
            return sm_fail(EINVAL, "worker spec: unknown key '%s%s'", where, key);
        int err = decode_one(k, v, base, where);
        if (err)
            return err;
    }
    return 0;
}

/* A NIC on a tap: the MAC and MTU it must be given. */
static int check_tap(const sm_worker_spec *s)
{
    uint8_t mac[6];
    if (s->net_user)
        return sm_fail(EINVAL, "worker spec: net_tap_fd and net_user exclude each other");
    if (!sm_worker_spec_mac(s->net_mac, mac))
        return sm_fail(EINVAL, "worker spec: net_mac must be a MAC address "
                       "(aa:bb:cc:dd:ee:ff), not '%s'", s->net_mac);
    if (s->net_mtu < 68)
        return sm_fail(EINVAL, "worker spec: net_mtu is %u, at least 68 (IPv4's minimum)",
                       s->net_mtu);
    return 0;
}

/* What the types alone do not say. */
static int check(json_t *o, const sm_worker_spec *s)
{
    json_t *version = json_object_get(o, "version");
    if (!version)
        return sm_fail(EINVAL, "worker spec: version is required");
    if (!json_is_integer(version) || json_integer_value(version) != SM_WORKER_SPEC_VERSION)
        return sm_fail(EINVAL, "worker spec: version must be %d (the library and the worker "
                       "come from different builds?)", SM_WORKER_SPEC_VERSION);
    if (!s->dir[0])
        return sm_fail(EINVAL, "worker spec: dir is required");
    if (s->dir[0] != '/')
        return sm_fail(EINVAL, "worker spec: dir must be an absolute path, not '%s'", s->dir);
    if (s->nports && !s->net_user)
        return sm_fail(EINVAL, "worker spec: ports need net_user");
    return s->net_tap_fd >= 0 ? check_tap(s) : 0;
}

int sm_worker_spec_decode(const char *text, size_t len, sm_worker_spec *s)
{
    sm_worker_spec_init(s);
    if (len > SM_WORKER_SPEC_MAX_BYTES)
        return sm_fail(E2BIG, "worker spec: %zu bytes, at most %d", len,
                       SM_WORKER_SPEC_MAX_BYTES);
    json_error_t e;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    int err = 0;
    if (!o)
        err = sm_fail(EINVAL, "worker spec: not JSON: %s (line %d, column %d)", e.text,
                      e.line, e.column);
    else if (!json_is_object(o))
        err = sm_fail(EINVAL, "worker spec: not a JSON object");
    if (!err)
        err = decode_fields(spec_fields, COUNT(spec_fields), o, s, "");
    if (!err)
        err = check(o, s);
    json_decref(o);
    return err;
}

/* ---- the descriptor ---- */

int sm_worker_spec_to_fd(const sm_worker_spec *s, int *out)
{
    char *text;
    size_t len;
    int err = sm_worker_spec_encode(s, &text, &len);
    if (err)
        return err;
    int fd = memfd_create("supermachine-worker-spec", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        err = sm_fail(errno, "cannot hand the worker its launch spec: memfd_create: %s",
                      strerror(errno));
    else if ((err = sm_write_all(fd, text, len)) != 0)
        err = sm_fail(-err, "cannot write the worker's launch spec: %s", strerror(-err));
    /* Sealed: the worker runs exactly what was checked here. */
    else if (lseek(fd, 0, SEEK_SET) < 0 ||
             fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
        err = sm_fail(errno, "cannot seal the worker's launch spec: %s", strerror(errno));
    free(text);
    if (err && fd >= 0)
        close(fd);
    if (!err)
        *out = fd;
    return err;
}

/* Up to one byte past the limit, so that an oversized spec is seen as
 * such; 0 or -errno. */
static int read_bounded(int fd, char *buf, size_t *len)
{
    *len = 0;
    while (*len <= SM_WORKER_SPEC_MAX_BYTES) {
        ssize_t n = read(fd, buf + *len, SM_WORKER_SPEC_MAX_BYTES + 1 - *len);
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR)
            return -errno;
        *len += n > 0 ? (size_t)n : 0;
    }
    return 0;
}

int sm_worker_spec_from_fd(int fd, sm_worker_spec *s)
{
    char *buf = malloc(SM_WORKER_SPEC_MAX_BYTES + 1);
    size_t len = 0;
    int err = buf ? read_bounded(fd, buf, &len) : sm_fail(ENOMEM, "out of memory");
    if (buf && err)
        err = sm_fail(-err, "cannot read the launch spec from fd %d: %s", fd, strerror(-err));
    if (!err)
        err = sm_worker_spec_decode(buf, len, s);
    free(buf);
    close(fd);
    return err;
}
