/* One virtio-vsock stream between a guest port and a host Unix socket, and
 * the credit arithmetic of section 5.10.6.3. */
#ifndef SM_DEVICES_VIRTIO_VSOCK_CONN_H
#define SM_DEVICES_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What we let the guest have in flight towards one host socket. */
#define SM_VSOCK_BUF_ALLOC (256u * 1024)

typedef enum sm_vsock_conn_state {
    SM_VSOCK_AWAIT_CONNECT_LINE,  /* host client has not said "CONNECT P" yet */
    SM_VSOCK_AWAIT_RESPONSE,      /* we sent REQUEST to the guest */
    SM_VSOCK_ESTABLISHED,
    SM_VSOCK_CLOSING,             /* the guest closed: held bytes still go to
                                     the host, then the socket closes */
} sm_vsock_conn_state;

typedef struct sm_vsock_conn {
    struct sm_vsock_conn *next;
    void *owner;                  /* the device, for event callbacks */
    int fd;                       /* the host side */
    sm_vsock_conn_state state;
    uint32_t guest_port, host_port;
    bool host_eof;                /* the host stopped sending */
    bool guest_done_sending;      /* the guest shut down its sending side */
    /* Guest -> host: what the guest sent, and what reached the socket. */
    uint32_t rx_cnt, fwd_cnt, fwd_reported;
    uint8_t *pending;             /* guest bytes the socket did not take yet */
    size_t pending_len;
    /* Host -> guest: what we sent, and the guest's own buffer state. */
    uint32_t tx_cnt, peer_buf_alloc, peer_fwd_cnt;
    char line[48];                /* the CONNECT handshake being read */
    size_t line_len;
    uint32_t events;              /* what the event loop watches now */
} sm_vsock_conn;

/* Bytes the guest can still accept from us. */
uint32_t sm_vsock_peer_credit(const sm_vsock_conn *c);

/* Whether the guest exceeded the credit we gave it by sending `len`. */
bool sm_vsock_guest_overran(const sm_vsock_conn *c, uint32_t len);

/* Keep guest bytes the socket could not take; false if over credit. */
bool sm_vsock_conn_hold(sm_vsock_conn *c, const uint8_t *data, size_t len);

/* Write held bytes to the socket; returns -errno on a dead socket. */
int sm_vsock_conn_flush(sm_vsock_conn *c);

/* Whether the guest should hear how much we forwarded (a credit update). */
bool sm_vsock_conn_owes_credit(const sm_vsock_conn *c);

/* Parse "CONNECT <port>\n" from the bytes read so far: 1 = port parsed,
 * 0 = need more, -1 = malformed. */
int sm_vsock_parse_connect(const char *line, size_t len, uint32_t *port);

#endif
