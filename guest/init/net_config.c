#include "net_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* A decimal number lo..hi spanning exactly [s, end). */
static int number(const char *s, const char *end, unsigned long lo, unsigned long hi,
                  unsigned long *out)
{
    unsigned long v = 0;
    if (s == end || end - s > 5)
        return -EINVAL;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

/* A dotted quad spanning exactly [s, end). */
static int address(const char *s, const char *end, struct in_addr *out)
{
    char buf[16];
    if (end - s <= 0 || end - s >= (long)sizeof buf)
        return -EINVAL;
    memcpy(buf, s, (size_t)(end - s));
    buf[end - s] = '\0';
    return inet_pton(AF_INET, buf, out) == 1 ? 0 : -EINVAL;
}

int sm_init_net_parse(const char *text, sm_init_net_config *out)
{
    memset(out, 0, sizeof *out);
    const char *slash = strchr(text, '/');
    const char *c1 = slash ? strchr(slash, ',') : NULL;
    const char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    const char *end = text + strlen(text);
    unsigned long prefix, mtu;
    if (!c2 || strchr(c2 + 1, ',') || address(text, slash, &out->ip) ||
        number(slash + 1, c1, 1, 32, &prefix) || number(c2 + 1, end, 68, 65535, &mtu))
        return -EINVAL;
    out->has_gateway = c2 > c1 + 1;
    if (out->has_gateway && address(c1 + 1, c2, &out->gateway))
        return -EINVAL;
    out->netmask.s_addr = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
    out->mtu = (uint16_t)mtu;
    return 0;
}

void sm_init_net_slirp(sm_init_net_config *out)
{
    memset(out, 0, sizeof *out);
    inet_pton(AF_INET, "10.0.2.15", &out->ip);
    inet_pton(AF_INET, "255.255.255.0", &out->netmask);
    inet_pton(AF_INET, "10.0.2.2", &out->gateway);
    out->has_gateway = true;
}
