#include "devices/virtio/vsock_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint32_t sm_vsock_peer_credit(const sm_vsock_conn *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;  /* wraps by design */
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

bool sm_vsock_guest_overran(const sm_vsock_conn *c, uint32_t len)
{
    uint32_t unforwarded = c->rx_cnt - c->fwd_cnt;
    return unforwarded > SM_VSOCK_BUF_ALLOC || len > SM_VSOCK_BUF_ALLOC - unforwarded;
}

bool sm_vsock_conn_hold(sm_vsock_conn *c, const uint8_t *data, size_t len)
{
    if (c->pending_len + len > SM_VSOCK_BUF_ALLOC)
        return false;
    if (!c->pending && !(c->pending = malloc(SM_VSOCK_BUF_ALLOC)))
        return false;
    memcpy(c->pending + c->pending_len, data, len);
    c->pending_len += len;
    return true;
}

int sm_vsock_conn_flush(sm_vsock_conn *c)
{
    size_t off = 0;
    while (off < c->pending_len) {
        ssize_t n = write(c->fd, c->pending + off, c->pending_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return n < 0 ? -errno : -EPIPE;
        off += (size_t)n;
        c->fwd_cnt += (uint32_t)n;
    }
    /* Nothing held means no buffer yet, and memmove takes no NULL one. */
    if (off) {
        memmove(c->pending, c->pending + off, c->pending_len - off);
        c->pending_len -= off;
    }
    return 0;
}

bool sm_vsock_conn_owes_credit(const sm_vsock_conn *c)
{
    uint32_t unreported = c->fwd_cnt - c->fwd_reported;
    /* Often enough that a guest streaming at full speed never waits on
     * us, rarely enough not to double the packet count. */
    return unreported >= SM_VSOCK_BUF_ALLOC / 4 || (unreported && c->pending_len == 0 &&
                                                   c->rx_cnt - c->fwd_reported >= SM_VSOCK_BUF_ALLOC / 2);
}

int sm_vsock_parse_connect(const char *line, size_t len, uint32_t *port)
{
    static const char word[] = "CONNECT ";
    size_t wl = sizeof word - 1;
    if (memcmp(line, word, len < wl ? len : wl) != 0)
        return -1;
    const char *nl = memchr(line, '\n', len);
    if (!nl)
        return len >= 40 ? -1 : 0;
    uint64_t v = 0;
    const char *p = line + wl;
    if (p == nl)
        return -1;
    for (; p < nl; p++) {
        if (*p == '\r' && p + 1 == nl)
            break;
        if (*p < '0' || *p > '9' || (v = v * 10 + (uint64_t)(*p - '0')) > UINT32_MAX)
            return -1;
    }
    *port = (uint32_t)v;
    return 1;
}
