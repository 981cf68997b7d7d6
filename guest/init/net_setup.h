/* The guest's network as user-mode NAT expects it, set with a handful of
 * ioctls: no DHCP client, no tools, nothing in the image needed. */
#ifndef SM_GUEST_NET_SETUP_H
#define SM_GUEST_NET_SETUP_H

/* Bring lo up; if the VM has a NIC (eth0), give it 10.0.2.15/24, bring it
 * up (IPv6 link-local comes with that) and route everything via 10.0.2.2;
 * or, when the kernel command line says sm_net= (net_config.h), that
 * address, MTU and route.
 * Returns 0, or a negative errno after saying on stderr which step failed. */
int sm_init_net_up(void);

#endif
