/*
 * Which frames from the guest make libslirp open a socket on the host: a
 * TCP SYN (a new connection), any UDP datagram (one socket per guest
 * source port, kept until idle for minutes) and an ICMP echo request (one
 * per ping). libslirp has no bound of its own, so the backend counts and
 * drops these past its bounds (net_slirp.c); everything else passes.
 */
#ifndef SM_DEVICES_NET_FLOW_H
#define SM_DEVICES_NET_FLOW_H

#include <stddef.h>
#include <stdint.h>

typedef enum sm_net_flow {
    SM_NET_FLOW_NONE,       /* opens nothing (ARP, segments of a connection) */
    SM_NET_FLOW_TCP,        /* a TCP SYN without ACK */
    SM_NET_FLOW_OTHER,      /* UDP, ICMP echo */
} sm_net_flow;

/* What an Ethernet frame from the guest would open (IPv4 only: IPv6 is off). */
sm_net_flow sm_net_flow_of(const uint8_t *frame, size_t len);

#endif
