/* The guest's address when the host chooses it: a VM in a network
 * namespace takes over the namespace interface's address, and the host
 * says which on the kernel command line as
 *
 *     sm_net=IP/PREFIX,GATEWAY,MTU     (GATEWAY may be empty: no route)
 *
 * which the kernel hands PID 1 as the environment variable sm_net. Without
 * it the guest has user-mode NAT's fixed address (net_setup.c). Parsing
 * is apart from the ioctls so that host tests can run it. */
#ifndef SM_GUEST_NET_CONFIG_H
#define SM_GUEST_NET_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sm_init_net_config {
    struct in_addr ip, netmask, gateway;
    bool has_gateway;
    uint16_t mtu;               /* 0: the device's own */
} sm_init_net_config;

/* 0, or -EINVAL for anything but the form above (a prefix of 1 to 32, an
 * MTU of 68 to 65535, dotted quads). */
int sm_init_net_parse(const char *text, sm_init_net_config *out);

/* User-mode NAT's: 10.0.2.15/24 via 10.0.2.2 (src/devices/net_slirp.h). */
void sm_init_net_slirp(sm_init_net_config *out);

#endif
