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
#include <stdlib.h>
#include <unistd.h>

#include "net_config.h"

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

static void set_ip(struct sockaddr *sa, struct in_addr ip)
{
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    memset(in, 0, sizeof *in);
    in->sin_family = AF_INET;
    in->sin_addr = ip;
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

static int set_address(int fd, const char *dev, const sm_init_net_config *c)
{
    struct ifreq r = {0};
    snprintf(r.ifr_name, sizeof r.ifr_name, "%s", dev);
    set_ip(&r.ifr_addr, c->ip);
    if (ioctl(fd, SIOCSIFADDR, &r) < 0)
        return failed("cannot set the address of", dev);
    set_ip(&r.ifr_netmask, c->netmask);
    return ioctl(fd, SIOCSIFNETMASK, &r) < 0 ? failed("cannot set the netmask of", dev) : 0;
}

/* The device offers its MTU already (VIRTIO_NET_F_MTU); set it anyway, so
 * the guest holds to the namespace's even where the driver does not. */
static int set_mtu(int fd, const char *dev, uint16_t mtu)
{
    struct ifreq r = {0};
    snprintf(r.ifr_name, sizeof r.ifr_name, "%s", dev);
    r.ifr_mtu = mtu;
    return mtu && ioctl(fd, SIOCSIFMTU, &r) < 0 ? failed("cannot set the MTU of", dev) : 0;
}

static int default_route(int fd, const char *dev, struct in_addr gateway)
{
    struct rtentry rt = {0};
    set_ip(&rt.rt_dst, (struct in_addr){0});
    set_ip(&rt.rt_genmask, (struct in_addr){0});
    set_ip(&rt.rt_gateway, gateway);
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

/* The host's sm_net= when it gave one (a VM in a network namespace),
 * else user-mode NAT's fixed address. */
static int config_of(sm_init_net_config *c)
{
    const char *given = getenv("sm_net");
    if (!given) {
        sm_init_net_slirp(c);
        return 0;
    }
    errno = EINVAL;
    return sm_init_net_parse(given, c) ? failed("sm_net= is not IP/PREFIX,GATEWAY,MTU:", given)
                                       : 0;
}

static int configure_nic(int fd, const char *dev)
{
    sm_init_net_config c;
    int err = config_of(&c);
    if (!err)
        err = set_address(fd, dev, &c);
    if (!err)
        err = set_mtu(fd, dev, c.mtu);
    if (!err)
        err = link_up(fd, dev);
    if (!err && c.has_gateway)
        err = default_route(fd, dev, c.gateway);
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
