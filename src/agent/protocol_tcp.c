/* The TCP_CONNECT message of the agent protocol (see protocol.h): its
 * encoder and decoder, kept beside protocol.c's with the same rules (known
 * tags once each and of the right shape, unknown tags skipped). */
#include <errno.h>

#include "agent/protocol.h"

int sm_agent_encode_tcp_connect(sm_agent_wbuf *b, const sm_agent_tcp_connect *m)
{
    sm_agent_frame_begin(b, SM_AGENT_TCP_CONNECT, 0);
    sm_agent_put_u32(b, SM_AGENT_T_PORT, m->port);
    return sm_agent_frame_end(b);
}

static int bad(const char **why, const char *reason)
{
    *why = reason;
    return -EBADMSG;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int sm_agent_decode_tcp_connect(const sm_agent_frame *f, sm_agent_tcp_connect *m,
                                const char **why)
{
    if (f->type != SM_AGENT_TCP_CONNECT)
        return bad(why, "unexpected frame type");
    sm_agent_tlv_iter it = {f->payload, f->len};
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    int r;
    bool seen = false;
    uint32_t port = 0;
    while ((r = sm_agent_tlv_next(&it, &tag, &v, &n)) > 0) {
        if (tag != SM_AGENT_T_PORT)
            continue;
        if (seen)
            return bad(why, "a field appears twice");
        if (n != 4)
            return bad(why, "a field has the wrong size");
        seen = true;
        port = le32(v);
    }
    if (r < 0)
        return bad(why, "a field overruns the frame");
    if (!seen)
        return bad(why, "TCP_CONNECT without a port");
    if (port < 1 || port > UINT16_MAX)
        return bad(why, "TCP_CONNECT with a port out of range");
    m->port = (uint16_t)port;
    return 0;
}
