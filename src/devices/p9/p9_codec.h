/*
 * The 9P2000.L message codec: a bounds-checked decoder that turns one
 * request from the guest into a sm_p9_req (strings copied out, checked and
 * NUL-terminated), and a writer for replies that never passes its buffer's
 * end. Nothing here touches the file system.
 */
#ifndef SM_DEVICES_P9_P9_CODEC_H
#define SM_DEVICES_P9_P9_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/p9/p9_proto.h"

/* Longest accepted name (a path element) and symlink target; longer ones
 * are answered ENAMETOOLONG, as the host could not take them anyway. */
#define SM_P9_NAME_MAX 255
#define SM_P9_TARGET_MAX 4095

typedef struct sm_p9_qid {
    uint8_t type;
    uint32_t version;
    uint64_t path;
} sm_p9_qid;

typedef struct sm_p9_attrs {
    uint32_t valid, mode, uid, gid;
    uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
} sm_p9_attrs;

typedef struct sm_p9_lockreq {
    uint8_t type;
    uint32_t flags, proc_id;
    uint64_t start, length;
    const char *client_id;
} sm_p9_lockreq;

/* One decoded request. Which fields are set depends on the type; strings
 * point into `strings` and are NUL-terminated with no NUL inside. */
typedef struct sm_p9_req {
    uint8_t type;
    uint16_t tag;
    uint32_t fid;
    uint32_t fid2;          /* newfid (walk, xattrwalk), dfid (link, rename),
                               newdirfid (renameat), afid (attach) */
    uint32_t msize;         /* version */
    uint32_t flags;         /* lopen, lcreate, unlinkat, fsync (datasync), xattrcreate */
    uint32_t mode, gid;     /* lcreate, mkdir, symlink, mknod */
    uint32_t major, minor;  /* mknod */
    uint32_t n_uname;       /* attach */
    uint64_t offset;        /* read, write, readdir */
    uint64_t mask;          /* getattr request_mask; xattrcreate attr_size */
    uint32_t count;         /* read, write, readdir */
    const uint8_t *data;    /* write: count bytes inside the message */
    uint16_t oldtag;        /* flush */
    uint16_t nwname;        /* walk */
    const char *wname[SM_P9_MAX_WALK];
    const char *name;       /* the (first) name: version string, uname, file
                               names, xattr name */
    const char *name2;      /* aname (attach), symlink target, new name (renameat) */
    sm_p9_attrs attr;
    sm_p9_lockreq lock;
    size_t strings_used;
    char strings[SM_P9_MAX_WALK * (SM_P9_NAME_MAX + 1) + SM_P9_TARGET_MAX + 1 + 512];
} sm_p9_req;

/* Decode msg[0..len). The header is checked first: with fewer than 7
 * bytes, -EBADMSG and nothing set; after that r->type and r->tag are set
 * whatever else fails, so the error can be answered. The size field must
 * equal len (the caller cuts the message to it) and every field must fit
 * exactly: -EBADMSG for a malformed message, -ENAMETOOLONG for a name or
 * target over the limits, -EOPNOTSUPP for a type this server does not
 * speak. */
int sm_p9_decode(const uint8_t *msg, size_t len, sm_p9_req *r);

/* The size field of a message, or 0 with fewer than 4 bytes. */
uint32_t sm_p9_msg_size(const uint8_t *msg, size_t len);

/* ---- replies ---- */

typedef struct sm_p9_w {
    uint8_t *p;
    size_t cap, len;
    bool overflow;
} sm_p9_w;

void sm_p9_w_begin(sm_p9_w *w, uint8_t *buf, size_t cap, uint8_t type, uint16_t tag);
void sm_p9_put8(sm_p9_w *w, uint8_t v);
void sm_p9_put16(sm_p9_w *w, uint16_t v);
void sm_p9_put32(sm_p9_w *w, uint32_t v);
void sm_p9_put64(sm_p9_w *w, uint64_t v);
void sm_p9_put_str(sm_p9_w *w, const char *s, size_t len);
void sm_p9_put_qid(sm_p9_w *w, const sm_p9_qid *q);
/* Room for n raw bytes written by the caller at p + len; NULL if none. */
uint8_t *sm_p9_reserve(sm_p9_w *w, size_t n);
/* Seal the message (its size field); 0 if it overflowed. */
size_t sm_p9_w_end(sm_p9_w *w);

/* An Rlerror for tag (0 if cap is under 11 bytes). */
size_t sm_p9_error_reply(uint8_t *buf, size_t cap, uint16_t tag, int err);

#endif
