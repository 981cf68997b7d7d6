/* A VM in a network namespace someone else made (SM_NETWORK_NETNS): the
 * config's checks, and for the length of its start the tap the library
 * makes there (netns_tap.h), handed to the worker, and the address the
 * guest takes over, told to it on the kernel command line (sm_net=, which
 * guest/init/net_config.h reads). */
#ifndef SM_LIB_VM_NETNS_H
#define SM_LIB_VM_NETNS_H

#include "lib/netns_tap.h"
#include "lib/vm_int.h"
#include "supermachine.h"

typedef struct sm_vm_netns {
    sm_netns_link link;         /* tap_fd: -1 when there is none */
    char cmdline[4096];
} sm_vm_netns;

/* What such a VM cannot have (ports, a snapshot), and that it names its
 * namespace; a netns_path without SM_NETWORK_NETNS is refused too. */
int sm_vm_netns_check(const sm_vm_config *c);

/* For a SM_NETWORK_NETNS config (nothing otherwise): make the tap, put
 * sm_net= in front of c->cmdline (pointing it into n) and vm->netns to n
 * until sm_vm_netns_end. */
int sm_vm_netns_begin(sm_vm *vm, sm_vm_config *c, sm_vm_netns *n);

/* The worker has its copy of the tap (or never will): close ours. */
void sm_vm_netns_end(sm_vm *vm, sm_vm_netns *n);

/* The MAC as the worker's spec writes it ("aa:bb:cc:dd:ee:ff"). */
void sm_vm_netns_mac_text(const sm_netns_link *l, char out[18]);

#endif
