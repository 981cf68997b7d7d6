/* A VM in a network namespace someone else made (CNI's, for a pod):
 * a tap device inside it, joined to the namespace's interface with tc
 * redirects both ways (tc_mirred.h), and that interface's address, route,
 * MTU and MAC for the guest's NIC to take over, as Kata does. */
#ifndef SM_LIB_NETNS_TAP_H
#define SM_LIB_NETNS_TAP_H

#include <net/if.h>
#include <stdint.h>

typedef struct sm_netns_link {
    int tap_fd;                 /* the tap's queue (ours to close) */
    char ifname[IFNAMSIZ];      /* the namespace's interface ("eth0") */
    char tapname[IFNAMSIZ];
    uint8_t mac[6];             /* the interface's: the guest's NIC takes it */
    char ip[16];                /* dotted quad */
    unsigned prefix;
    char gateway[16];           /* "" without a default route */
    uint16_t mtu;
} sm_netns_link;

/* netns_path: a namespace file (/var/run/netns/NAME, /proc/PID/ns/net).
 * Needs CAP_NET_ADMIN there; the calling thread comes back to its own
 * namespace either way. 0 or a negative errno with a sentence. */
int sm_netns_attach(const char *netns_path, sm_netns_link *out);

#endif
