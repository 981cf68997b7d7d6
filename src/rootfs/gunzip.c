#include "rootfs/gunzip.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/error.h"

#define OUT_SIZE (1u << 20)

struct sm_gunzip {
    struct inflate_state st;
    sm_gunzip_source src;
    void *ctx;
    bool eof;         /* the source has no more bytes */
    bool in_member;   /* between a member's header and its trailer */
    uint8_t out[OUT_SIZE];
};

int sm_gunzip_open(sm_gunzip **out, sm_gunzip_source src, void *ctx)
{
    sm_gunzip *g = malloc(sizeof *g);
    if (!g)
        return sm_fail(ENOMEM, "out of memory for a gzip decoder");
    isal_inflate_init(&g->st);
    g->src = src;
    g->ctx = ctx;
    g->eof = false;
    g->in_member = false;
    *out = g;
    return 0;
}

void sm_gunzip_free(sm_gunzip *g)
{
    free(g);
}

static const char *why(int r)
{
    switch (r) {
    case ISAL_INCORRECT_CHECKSUM: return "its checksum does not match";
    case ISAL_INVALID_WRAPPER: return "a bad gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "not deflate";
    case ISAL_NEED_DICT: return "it needs a dictionary";
    default: return "bad deflate data";
    }
}

static int refill(sm_gunzip *g)
{
    if (g->st.avail_in || g->eof)
        return 0;
    const void *p;
    ssize_t n = g->src(g->ctx, &p);
    if (n < 0)
        return (int)n;
    if (n == 0)
        g->eof = true;
    g->st.next_in = (uint8_t *)p;
    g->st.avail_in = (uint32_t)n;
    return 0;
}

/* At a member boundary: true to start the next one. */
static bool next_member(sm_gunzip *g)
{
    if (!g->st.avail_in || g->st.next_in[0] != 0x1f)
        return false;
    isal_inflate_reset(&g->st);
    g->st.crc_flag = ISAL_GZIP;
    g->in_member = true;
    return true;
}

ssize_t sm_gunzip_read_into(sm_gunzip *g, void *out, size_t len)
{
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    for (;;) {
        int err = refill(g);
        if (err)
            return err;
        if (!g->in_member && !next_member(g))
            return 0;
        g->st.next_out = out;
        g->st.avail_out = (uint32_t)len;
        int r = isal_inflate(&g->st);
        if (r < 0)
            return sm_fail(EILSEQ, "corrupt gzip data: %s", why(r));
        if (g->st.block_state == ISAL_BLOCK_FINISH)
            g->in_member = false;
        size_t made = len - g->st.avail_out;
        if (made)
            return (ssize_t)made;
        if (g->in_member && g->eof && !g->st.avail_in)
            return sm_fail(EILSEQ, "truncated gzip data");
    }
}

ssize_t sm_gunzip_read(sm_gunzip *g, const void **buf)
{
    ssize_t n = sm_gunzip_read_into(g, g->out, OUT_SIZE);
    if (n > 0)
        *buf = g->out;
    return n;
}
