/*
 * User-mode NAT with libslirp, the network Docker's rootless mode and
 * QEMU's "-netdev user" give: no root, no host interfaces. The guest is
 * 10.0.2.15/24; 10.0.2.2 is the gateway and reaches the host's loopback;
 * 10.0.2.3 forwards DNS to the host's resolver. IPv6 is off, as Docker's
 * default network has it. Published ports listen on the host and lead to
 * the guest's 10.0.2.15.
 *
 * libslirp is single-threaded: it runs on a thread of its own with its
 * own poll loop; frames from the guest are queued to it (bounded, with
 * back-pressure), frames for the guest go to the peer from that thread.
 */
#ifndef SM_DEVICES_NET_SLIRP_H
#define SM_DEVICES_NET_SLIRP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iovec;

#define SM_NET_GUEST_IP "10.0.2.15"
#define SM_NET_GATEWAY_IP "10.0.2.2"
#define SM_NET_DNS_IP "10.0.2.3"
#define SM_NET_PREFIX_LEN 24

/* A VM publishes at most this many ports (each is a listening socket). */
#define SM_NET_MAX_PORTS 64

/* TCP connections libslirp holds at once (each a host socket and up to
 * 256 KiB of buffers): past it a guest's new connection (its SYN) is
 * dropped, as by a full NAT table. New UDP flows and pings are dropped
 * too while the worker has less than a quarter of its descriptor limit
 * free (they take a socket each until idle for minutes). */
#define SM_NET_MAX_TCP 1024

/* A guest port published on the host: `[IP:]HOST:GUEST[/udp]`. */
typedef struct sm_net_port {
    char host_ip[INET6_ADDRSTRLEN];     /* "" means 127.0.0.1 */
    uint16_t host_port;
    uint16_t guest_port;
    bool udp;
} sm_net_port;

/* Parse `[IP:]HOST:GUEST[/udp|/tcp]` (an IPv6 address may be bracketed);
 * and write a port back in the form parse takes, always with its IP. */
int sm_net_port_parse(const char *spec, sm_net_port *out);
int sm_net_port_format(const sm_net_port *p, char *buf, size_t len);

/* Where frames for the guest go, and who waits for queue room. Both run
 * on the slirp thread. `guest_mac` is the guest NIC's address: slirp
 * learns it (as from a gratuitous ARP) before the first frame, so that
 * the first packet it sends the guest, the SYN of a published port's
 * connection to a just restored VM, needs no ARP round trip. */
typedef struct sm_net_slirp_peer {
    int (*deliver)(void *ctx, const void *frame, size_t len);
    void (*resume)(void *ctx);
    void *ctx;
    uint8_t guest_mac[6];
} sm_net_slirp_peer;

typedef struct sm_net_slirp sm_net_slirp;

/* Set up the stack and listen on every published port; a port the host
 * cannot give (in use, no permission, a bad address) fails here, naming
 * it. The thread starts with sm_net_slirp_start. */
int sm_net_slirp_new(const sm_net_port *ports, unsigned nports, uint16_t mtu,
                     sm_net_slirp **out);
int sm_net_slirp_start(sm_net_slirp *s, const sm_net_slirp_peer *peer);

/* Lower the TCP bound (before start; tests). */
void sm_net_slirp_limit_tcp(sm_net_slirp *s, unsigned max);

/* An sm_net_backend send(): copy a frame from the guest onto the queue. */
int sm_net_slirp_send(void *s, const struct iovec *iov, unsigned niov, size_t len);

/* Stop the thread, close every socket and free. */
void sm_net_slirp_free(sm_net_slirp *s);

#endif
