/* A tiny 9P2000.L client for tests: builds requests byte by byte (so
 * tests can also build broken ones) and reads replies, against a server
 * driven directly. */
#ifndef SM_TESTS_P9_CLIENT_H
#define SM_TESTS_P9_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "devices/p9/p9_proto.h"
#include "devices/p9/p9_server.h"

typedef struct p9c p9c;

struct p9c {
    sm_p9_server *s;
    /* How a message reaches a server: NULL to call s directly; else it
     * delivers msg[0..len) and fills reply, returning the reply's length. */
    size_t (*transport)(p9c *c, size_t len);
    void *ctx;
    uint8_t msg[SM_P9_MAX_MSIZE + 64];
    size_t mlen;
    uint8_t reply[SM_P9_MAX_MSIZE];
    size_t rlen, rpos;
    size_t cap;              /* reply room offered; 0: all of reply */
};

void p9c_begin(p9c *c, uint8_t type);
void p9c_u8(p9c *c, uint8_t v);
void p9c_u16(p9c *c, uint16_t v);
void p9c_u32(p9c *c, uint32_t v);
void p9c_u64(p9c *c, uint64_t v);
void p9c_str(p9c *c, const char *s);
void p9c_raw(p9c *c, const void *p, size_t n);
/* Fix the size field, serve the message and return the reply's type (0
 * for no reply); rpos then points past the reply's header. */
int p9c_send(p9c *c);
/* Send as is (the size field as the test left it; len bytes). */
int p9c_send_raw(p9c *c, size_t len);
/* The errno of an Rlerror reply, 0 for any other. */
int p9c_err(const p9c *c);

uint8_t p9c_g8(p9c *c);
uint16_t p9c_g16(p9c *c);
uint32_t p9c_g32(p9c *c);
uint64_t p9c_g64(p9c *c);
/* A reply string into buf (NUL-terminated, cut to len - 1). */
void p9c_gstr(p9c *c, char *buf, size_t len);

/* Whole requests: each returns 0 or the Rlerror's errno (positive). */
int p9c_version(p9c *c, uint32_t msize, const char *version, uint32_t *got);
int p9c_attach(p9c *c, uint32_t fid);
/* Attach for guest user uid (n_uname), as Linux does per user. */
int p9c_attach_as(p9c *c, uint32_t fid, uint32_t uid);
/* Walk; *nwqid (if not NULL) gets how many elements were walked. */
int p9c_walk(p9c *c, uint32_t fid, uint32_t newfid, int *nwqid, const char *path);
int p9c_lopen(p9c *c, uint32_t fid, uint32_t flags);
int p9c_lcreate(p9c *c, uint32_t fid, const char *name, uint32_t flags, uint32_t mode);
int p9c_read(p9c *c, uint32_t fid, uint64_t off, uint32_t count, char *buf, uint32_t *n);
int p9c_write(p9c *c, uint32_t fid, uint64_t off, const char *data, uint32_t len);
int p9c_clunk(p9c *c, uint32_t fid);
int p9c_mkdir(p9c *c, uint32_t dfid, const char *name, uint32_t mode);
int p9c_unlinkat(p9c *c, uint32_t dfid, const char *name, uint32_t flags);
int p9c_renameat(p9c *c, uint32_t ofid, const char *oname, uint32_t nfid, const char *nname);
int p9c_symlink(p9c *c, uint32_t dfid, const char *name, const char *target);
int p9c_mknod(p9c *c, uint32_t dfid, const char *name, uint32_t mode);
int p9c_link(p9c *c, uint32_t dfid, uint32_t fid, const char *name);
int p9c_setattr_mode(p9c *c, uint32_t fid, uint32_t mode);
int p9c_getattr(p9c *c, uint32_t fid, uint32_t *mode, uint32_t *uid, uint64_t *size);
int p9c_readlink(p9c *c, uint32_t fid, char *buf, size_t len);
int p9c_remove(p9c *c, uint32_t fid);
/* All names of a directory fid (opened by the caller), read count bytes
 * at a time, joined by ' ' into buf in the server's order. */
int p9c_readdir_all(p9c *c, uint32_t fid, uint32_t count, char *buf, size_t len);

#endif
