#include "lib/tc_mirred.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "util/error.h"

#define MSG_MAX 512

typedef struct nlbuf {
    union {
        struct nlmsghdr h;
        char raw[MSG_MAX];
    } u;
} nlbuf;

static struct rtattr *tail(nlbuf *b)
{
    return (struct rtattr *)(b->u.raw + NLMSG_ALIGN(b->u.h.nlmsg_len));
}

static struct rtattr *put(nlbuf *b, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = tail(b);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len)
        memcpy(RTA_DATA(a), data, len);
    b->u.h.nlmsg_len = NLMSG_ALIGN(b->u.h.nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}

static struct rtattr *nest(nlbuf *b, unsigned short type)
{
    return put(b, type, NULL, 0);
}

static void end(nlbuf *b, struct rtattr *a)
{
    a->rta_len = (unsigned short)((char *)tail(b) - (char *)a);
}

static struct tcmsg *start(nlbuf *b, uint16_t type, int ifindex, uint32_t handle,
                           uint32_t parent, uint32_t info)
{
    memset(b, 0, sizeof *b);
    b->u.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg));
    b->u.h.nlmsg_type = type;
    b->u.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    if (type != RTM_DELTFILTER)
        b->u.h.nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
    struct tcmsg *t = NLMSG_DATA(&b->u.h);
    t->tcm_family = AF_UNSPEC;
    t->tcm_ifindex = ifindex;
    t->tcm_handle = handle;
    t->tcm_parent = parent;
    t->tcm_info = info;
    return t;
}

/* Send one request and read its acknowledgement: 0 or the kernel's -errno. */
static int talk(int fd, nlbuf *b)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, b->u.raw, b->u.h.nlmsg_len, 0, (struct sockaddr *)&kernel,
               sizeof kernel) < 0)
        return -errno;
    char reply[MSG_MAX];
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)))
        return n < 0 ? -errno : -EBADMSG;
    struct nlmsghdr *h = (struct nlmsghdr *)reply;
    if (h->nlmsg_type != NLMSG_ERROR)
        return -EBADMSG;
    return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

static int add_ingress(int fd, int ifindex)
{
    nlbuf b;
    start(&b, RTM_NEWQDISC, ifindex, TC_H_MAKE(TC_H_INGRESS, 0), TC_H_INGRESS, 0);
    put(&b, TCA_KIND, "ingress", sizeof "ingress");
    return talk(fd, &b);
}

/* Our filters sit at priority 1 for every protocol. */
#define FILTER_INFO TC_H_MAKE(1u << 16, htons(ETH_P_ALL))

/* A VM that ran in this namespace before left its redirect on the
 * interface, toward a tap that went with it: matched first, it would drop
 * every frame (mirred to no device). Gone with all of priority 1, if any. */
static void del_redirects(int fd, int ifindex)
{
    nlbuf b;
    start(&b, RTM_DELTFILTER, ifindex, 0, TC_H_MAKE(TC_H_INGRESS, 0), FILTER_INFO);
    talk(fd, &b);
}

/* A u32 filter on from's ingress whose one key matches every frame
 * (mask 0), with the mirred action: egress redirect to `to`, stolen.
 * u32 rather than matchall: kernels built without cls_matchall have it. */
static int add_redirect(int fd, int from, int to)
{
    nlbuf b;
    start(&b, RTM_NEWTFILTER, from, 0, TC_H_MAKE(TC_H_INGRESS, 0), FILTER_INFO);
    put(&b, TCA_KIND, "u32", sizeof "u32");
    struct rtattr *opts = nest(&b, TCA_OPTIONS);
    /* The selector and its one key (mask 0: every frame), as the kernel
     * reads them: the keys follow the selector in the attribute. */
    struct tc_u32_sel sel = {.flags = TC_U32_TERMINAL, .nkeys = 1};
    struct tc_u32_key key = {0};
    uint8_t match[sizeof sel + sizeof key];
    memcpy(match, &sel, sizeof sel);
    memcpy(match + sizeof sel, &key, sizeof key);
    put(&b, TCA_U32_SEL, match, sizeof match);
    struct rtattr *acts = nest(&b, TCA_U32_ACT);
    struct rtattr *first = nest(&b, 1);
    put(&b, TCA_ACT_KIND, "mirred", sizeof "mirred");
    struct rtattr *aopts = nest(&b, TCA_ACT_OPTIONS);
    struct tc_mirred m = {.action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR,
                          .ifindex = (uint32_t)to};
    put(&b, TCA_MIRRED_PARMS, &m, sizeof m);
    end(&b, aopts);
    end(&b, first);
    end(&b, acts);
    end(&b, opts);
    return talk(fd, &b);
}

int sm_tc_redirect_both(int a, int b)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return sm_fail(errno, "netlink: %s", strerror(errno));
    int err = add_ingress(fd, a);
    if (err == -EEXIST) {
        del_redirects(fd, a);
        err = 0;
    }
    if (!err)
        err = add_ingress(fd, b);
    if (!err || err == -EEXIST)
        err = add_redirect(fd, a, b);
    if (!err)
        err = add_redirect(fd, b, a);
    close(fd);
    if (err)
        return sm_fail(-err, "cannot join the interfaces with tc (ingress qdisc, u32, mirred: "
                       "are sch_ingress, cls_u32 and act_mirred available?): %s",
                       strerror(-err));
    return 0;
}
