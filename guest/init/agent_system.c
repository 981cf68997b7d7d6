/* SYSTEM: the per-VM settings of the guest as a whole (hostname, wall
 * clock, RNG seed), which the host sends after a boot and, for VMs
 * restored from one snapshot, after each restore so that siblings never
 * share a clock offset or a random stream. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "agent_int.h"

/* From <linux/random.h>, which musl does not ship: make the kernel reseed
 * its CRNG now from what the pool holds, so the seed takes effect for the
 * very next read rather than at the next scheduled reseed. */
#define SM_RNDRESEEDCRNG _IO('R', 0x07)

static int set_clock(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};
    return clock_settime(CLOCK_REALTIME, &ts) < 0 ? -errno : 0;
}

/* Written into /dev/urandom, the seed is mixed into the pool without being
 * credited; the host's entropy is good, but credit needs CAP_SYS_ADMIN
 * ioctls whose struct musl lacks, and crediting changes nothing once the
 * CRNG is initialised. */
static int add_seed(const uint8_t *seed, uint32_t len)
{
    int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int err = write(fd, seed, len) == (ssize_t)len ? 0 : -EIO;
    if (!err)
        ioctl(fd, SM_RNDRESEEDCRNG);
    close(fd);
    return err;
}

int system_begin(conn *c, const sm_agent_frame *f)
{
    sm_agent_system m;
    const char *why = "";
    if (sm_agent_decode_system(f, &m, &why) < 0)
        return conn_fail(c, EBADMSG, "bad SYSTEM: %s", why);
    int err = 0;
    const char *what = "";
    if (m.hostname && sethostname(m.hostname, strlen(m.hostname)) < 0)
        err = -errno, what = "set the hostname";
    if (!err && m.realtime_ns && (err = set_clock(m.realtime_ns)) != 0)
        what = "set the clock";
    if (!err && m.seed && (err = add_seed(m.seed, m.seed_len)) != 0)
        what = "seed the random number generator";
    if (err)
        return conn_reply_error(c, -err, "cannot %s: %s", what, strerror(-err));
    sm_agent_encode_ok(&c->out, 0);
    return 0;
}
