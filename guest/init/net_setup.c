#include "net_setup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The addresses src/devices/net_slirp.h gives the guest. */
#define GUEST_IP "10.0.2.15"
#define NETMASK "255.255.255.0"
#define GATEWAY "10.0.2.2"

static int failed(const char *what, const char *dev)
{
    int err = errno;
    char msg[160];
    int n = snprintf(msg, sizeof msg, "sm-init: network: %s %s: %s\n", what, dev,
                     strerror(err));
    if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
        err = err ? err : EIO;
    return -(err ? err : EIO);
}

static void set_ip(struct sockaddr *sa, const char *ip)
{
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    memset(in, 0, sizeof *in);
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
}

static int link_up(int fd, const char *dev)
{
    struct ifreq r = {0};
    snprintf(r.ifr_name, sizeof r.ifr_name, "%s", dev);
    if (ioctl(fd, SIOCGIFFLAGS, &r) < 0)
        return failed("cannot read the flags of", dev);
    r.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(fd, SIOCSIFFLAGS, &r) < 0 ? failed("cannot bring up", dev) : 0;
}

static int set_address(int fd, const char *dev)
{
    struct ifreq r = {0};
    snprintf(r.ifr_name, sizeof r.ifr_name, "%s", dev);
    set_ip(&r.ifr_addr, GUEST_IP);
    if (ioctl(fd, SIOCSIFADDR, &r) < 0)
        return failed("cannot set the address of", dev);
    set_ip(&r.ifr_netmask, NETMASK);
    return ioctl(fd, SIOCSIFNETMASK, &r) < 0 ? failed("cannot set the netmask of", dev) : 0;
}

static int default_route(int fd, const char *dev)
{
    struct rtentry rt = {0};
    set_ip(&rt.rt_dst, "0.0.0.0");
    set_ip(&rt.rt_genmask, "0.0.0.0");
    set_ip(&rt.rt_gateway, GATEWAY);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = (char *)dev;
    if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST)
        return failed("cannot add the default route via", dev);
    return 0;
}

static bool exists(int fd, const char *dev)
{
    struct ifreq r = {0};
    snprintf(r.ifr_name, sizeof r.ifr_name, "%s", dev);
    return ioctl(fd, SIOCGIFINDEX, &r) == 0;
}

static int configure_nic(int fd, const char *dev)
{
    int err = set_address(fd, dev);
    if (!err)
        err = link_up(fd, dev);
    if (!err)
        err = default_route(fd, dev);
    return err;
}

int sm_init_net_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return failed("cannot open a socket for", "lo");
    int err = link_up(fd, "lo");
    /* Without a NIC (network "none") loopback is all there is. */
    if (!err && exists(fd, "eth0"))
        err = configure_nic(fd, "eth0");
    close(fd);
    return err;
}
