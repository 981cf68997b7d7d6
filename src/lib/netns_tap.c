#include "lib/netns_tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/tc_mirred.h"
#include "util/error.h"

static int ifreq_of(int fd, unsigned long req, const char *name, struct ifreq *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->ifr_name, sizeof r->ifr_name, "%s", name);
    return ioctl(fd, req, r) < 0 ? -errno : 0;
}

static unsigned prefix_of(uint32_t mask_be)
{
    return (unsigned)__builtin_popcount(mask_be);
}

/* The first interface but loopback that has an IPv4 address. */
static int find_interface(int fd, sm_netns_link *l)
{
    struct if_nameindex *all = if_nameindex(), *i;
    int err = -ENODEV;
    for (i = all; i && i->if_name && err; i++) {
        struct ifreq r;
        if (!strcmp(i->if_name, "lo") || ifreq_of(fd, SIOCGIFADDR, i->if_name, &r))
            continue;
        snprintf(l->ifname, sizeof l->ifname, "%s", i->if_name);
        inet_ntop(AF_INET, &((struct sockaddr_in *)&r.ifr_addr)->sin_addr, l->ip, sizeof l->ip);
        err = ifreq_of(fd, SIOCGIFNETMASK, i->if_name, &r);
        if (!err)
            l->prefix = prefix_of(((struct sockaddr_in *)&r.ifr_netmask)->sin_addr.s_addr);
        if (!err && !(err = ifreq_of(fd, SIOCGIFMTU, i->if_name, &r)))
            l->mtu = (uint16_t)r.ifr_mtu;
        if (!err && !(err = ifreq_of(fd, SIOCGIFHWADDR, i->if_name, &r)))
            memcpy(l->mac, r.ifr_hwaddr.sa_data, 6);
    }
    if_freenameindex(all);
    return err == -ENODEV ? sm_fail(ENODEV, "the network namespace has no interface with an "
                                    "IPv4 address (did CNI set it up?)")
           : err ? sm_fail(-err, "reading %s: %s", l->ifname, strerror(-err)) : 0;
}

/* The default route's gateway, from this thread's namespace's table. */
static void find_gateway(sm_netns_link *l)
{
    FILE *f = fopen("/proc/thread-self/net/route", "re");
    char line[256], dev[IFNAMSIZ + 1];
    unsigned dst, gw, flags;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%16s %x %x %x", dev, &dst, &gw, &flags) == 4 && dst == 0 && gw &&
            !strcmp(dev, l->ifname)) {
            struct in_addr a = {.s_addr = gw};  /* printed in the kernel's byte order */
            inet_ntop(AF_INET, &a, l->gateway, sizeof l->gateway);
            break;
        }
    if (f)
        fclose(f);
}

static int make_tap(int fd, sm_netns_link *l)
{
    int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap < 0)
        return sm_fail(errno, "cannot open /dev/net/tun: %s", strerror(errno));
    struct ifreq r = {.ifr_flags = IFF_TAP | IFF_NO_PI};
    snprintf(r.ifr_name, sizeof r.ifr_name, "sm%.12s", l->ifname);
    int err = ioctl(tap, TUNSETIFF, &r) < 0 ? -errno : 0;
    if (!err) {
        snprintf(l->tapname, sizeof l->tapname, "%s", r.ifr_name);
        struct ifreq q;
        ifreq_of(fd, SIOCGIFFLAGS, l->tapname, &q);
        q.ifr_flags |= IFF_UP;
        err = ioctl(fd, SIOCSIFFLAGS, &q) < 0 ? -errno : 0;
        ifreq_of(fd, SIOCGIFMTU, l->tapname, &q);
        q.ifr_mtu = l->mtu;
        if (!err && ioctl(fd, SIOCSIFMTU, &q) < 0)
            err = -errno;
    }
    if (err) {
        close(tap);
        return sm_fail(-err, "cannot make a tap device beside %s: %s", l->ifname, strerror(-err));
    }
    l->tap_fd = tap;
    return 0;
}

static int inside(sm_netns_link *l)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sm_fail(errno, "socket: %s", strerror(errno));
    int err = find_interface(fd, l);
    if (!err) {
        find_gateway(l);
        err = make_tap(fd, l);
    }
    if (!err && (err = sm_tc_redirect_both((int)if_nametoindex(l->ifname),
                                           (int)if_nametoindex(l->tapname))) < 0) {
        close(l->tap_fd);
        l->tap_fd = -1;
    }
    close(fd);
    return err;
}

static bool same_namespace(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int sm_netns_attach(const char *netns_path, sm_netns_link *out)
{
    memset(out, 0, sizeof *out);
    out->tap_fd = -1;
    int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(netns_path, O_RDONLY | O_CLOEXEC);
    if (home < 0 || target < 0) {
        int e = errno;
        if (home >= 0)
            close(home);
        return sm_fail(e, "network namespace %s: %s", netns_path, strerror(e));
    }
    int err = same_namespace(home, target)
                  ? sm_fail(EINVAL, "%s is this process's own network namespace: its "
                            "interface cannot be handed to a VM (that would take the host's "
                            "traffic)", netns_path)
              : setns(target, CLONE_NEWNET) < 0
                  ? sm_fail(errno, "cannot enter the network namespace %s: %s", netns_path,
                            strerror(errno))
                  : inside(out);
    close(target);
    /* Back home whatever happened: the caller's thread goes on here. */
    if (setns(home, CLONE_NEWNET) < 0 && !err)
        err = sm_fail(errno, "cannot return to our network namespace: %s", strerror(errno));
    close(home);
    if (err && out->tap_fd >= 0) {
        close(out->tap_fd);
        out->tap_fd = -1;
    }
    return err;
}
