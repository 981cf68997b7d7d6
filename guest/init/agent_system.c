/* SYSTEM: the per-VM settings of the guest as a whole (hostname, wall
 * clock, RNG seed), which the host sends after a boot and, for VMs
 * restored from one snapshot, after each restore so that siblings never
 * share a clock offset or a random stream. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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

/* Replaced whole (temp file and rename), so nothing in the guest reads
 * half a file; /etc is made if the image lacks it, as docker does. */
static int put_etc(const char *path, const char *text, size_t len)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s.sm-new", path);
    if (mkdir("/etc", 0755) < 0 && errno != EEXIST)
        return -errno;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -errno;
    int err = write(fd, text, len) == (ssize_t)len ? 0 : -EIO;
    close(fd);
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err)
        unlink(tmp);
    return err;
}

static int write_etc(const sm_agent_system *m, const char **what)
{
    char line[80];
    int err = 0;
    if (m->etc_hostname) {
        int n = snprintf(line, sizeof line, "%s\n", m->hostname);
        *what = "write /etc/hostname";
        err = put_etc("/etc/hostname", line, (size_t)n);
    }
    if (!err && m->etc_hosts) {
        *what = "write /etc/hosts";
        err = put_etc("/etc/hosts", m->etc_hosts, strlen(m->etc_hosts));
    }
    if (!err && m->resolv_conf) {
        *what = "write /etc/resolv.conf";
        err = put_etc("/etc/resolv.conf", m->resolv_conf, strlen(m->resolv_conf));
    }
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
    if (!err)
        err = write_etc(&m, &what);
    if (err)
        return conn_reply_error(c, -err, "cannot %s: %s", what, strerror(-err));
    sm_agent_encode_ok(&c->out, 0);
    return 0;
}
