#include "devices/net_flow.h"

#define ETH_HLEN 14
#define ETHERTYPE_IPV4 0x0800
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define ICMP_ECHO 8
#define TCP_SYN 0x02
#define TCP_ACK 0x10

sm_net_flow sm_net_flow_of(const uint8_t *f, size_t len)
{
    if (len < ETH_HLEN + 20 || ((f[12] << 8) | f[13]) != ETHERTYPE_IPV4)
        return SM_NET_FLOW_NONE;
    const uint8_t *ip = f + ETH_HLEN;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    /* A later fragment carries no header of its own: nothing to open. */
    if ((ip[0] >> 4) != 4 || ihl < 20 || ((ip[6] & 0x1f) | ip[7]))
        return SM_NET_FLOW_NONE;
    const uint8_t *l4 = ip + ihl;
    size_t room = len - ETH_HLEN > ihl ? len - ETH_HLEN - ihl : 0;
    switch (ip[9]) {
    case PROTO_TCP:
        return room >= 14 && (l4[13] & (TCP_SYN | TCP_ACK)) == TCP_SYN ? SM_NET_FLOW_TCP
                                                                         : SM_NET_FLOW_NONE;
    case PROTO_UDP:
        return SM_NET_FLOW_OTHER;
    case PROTO_ICMP:
        return room >= 1 && l4[0] == ICMP_ECHO ? SM_NET_FLOW_OTHER : SM_NET_FLOW_NONE;
    default:
        return SM_NET_FLOW_NONE;
    }
}
