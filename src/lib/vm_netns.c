#include "lib/vm_netns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

int sm_vm_netns_check(const sm_vm_config *c)
{
    if (c->network != SM_NETWORK_NETNS)
        return c->netns_path ? sm_fail(EINVAL, "netns_path is for network "
                                       "SM_NETWORK_NETNS only") : 0;
    if (!c->netns_path || !c->netns_path[0])
        return sm_fail(EINVAL, "network SM_NETWORK_NETNS needs netns_path: the network "
                       "namespace's file (/var/run/netns/NAME, /proc/PID/ns/net)");
    if (c->nports)
        return sm_fail(EINVAL, "a VM in a network namespace publishes no ports: the "
                       "namespace's owner routes to its address");
    /* A snapshot holds another address than the namespace's. */
    if (c->snapshot)
        return sm_fail(EINVAL, "a VM in a network namespace cannot resume a snapshot: it "
                       "boots, to take the namespace's address");
    return 0;
}

void sm_vm_netns_mac_text(const sm_netns_link *l, char out[18])
{
    const uint8_t *m = l->mac;
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int sm_vm_netns_begin(sm_vm *vm, sm_vm_config *c, sm_vm_netns *n)
{
    n->link.tap_fd = -1;
    if (c->network != SM_NETWORK_NETNS)
        return 0;
    int err = sm_netns_attach(c->netns_path, &n->link);
    if (err)
        return sm_fail_context(err, "the VM's network");
    int len = snprintf(n->cmdline, sizeof n->cmdline, "sm_net=%s/%u,%s,%u%s%s", n->link.ip,
                       n->link.prefix, n->link.gateway, n->link.mtu, c->cmdline ? " " : "",
                       c->cmdline ? c->cmdline : "");
    if (len < 0 || (size_t)len >= sizeof n->cmdline) {
        sm_vm_netns_end(vm, n);
        return sm_fail(E2BIG, "the kernel command line is too long");
    }
    c->cmdline = n->cmdline;
    vm->netns = &n->link;
    return 0;
}

void sm_vm_netns_end(sm_vm *vm, sm_vm_netns *n)
{
    if (n->link.tap_fd >= 0)
        close(n->link.tap_fd);
    n->link.tap_fd = -1;
    vm->netns = NULL;
}
