/* Booting a VM from an image, and setting it up as a container runtime
 * sets up a container: its own hostname and /etc/hosts, and the DNS of
 * its network. */
#include "lib/vm_image.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "agent/client.h"
#include "lib/image_open.h"
#include "lib/netns_tap.h"
#include "lib/paths.h"
#include "lib/upper_disk.h"
#include "util/error.h"
#include "util/log.h"

#define SLIRP_GUEST_IP "10.0.2.15"
#define SLIRP_DNS "10.0.2.3"

int sm_vm_pick_hostname(sm_vm *vm, const char *given)
{
    if (given) {
        size_t n = strlen(given);
        if (n == 0 || n > 63 || strchr(given, '/') || strchr(given, ' '))
            return sm_fail(EINVAL, "hostname '%s' is not a valid host name", given);
        snprintf(vm->hostname, sizeof vm->hostname, "%s", given);
        return 0;
    }
    /* As docker does: the first 12 hex digits of the VM's id. */
    snprintf(vm->hostname, sizeof vm->hostname, "%.12s", vm->id);
    return 0;
}

/* The disks a VM of the image has room for: `limit` in all before the
 * images its own builds on (which come last), `room` of them the caller's. */
typedef struct disk_room {
    unsigned limit, room;
} disk_room;

static int add_disk(sm_vm_image_boot *b, unsigned *n, const char *path, int ro,
                    const disk_room *r)
{
    if (*n >= r->limit)
        return sm_fail(EINVAL, "a VM from this image takes at most %u more disks", r->room);
    b->disks[(*n)++] = (sm_disk){path, ro};
    return 0;
}

/* The images the image's own builds on, read-only after every other disk
 * (so the caller's keep their names), and their names for sm-init. */
static int add_lowers(sm_vm_image_boot *b, unsigned *n, const sm_rootfs_chain *chain,
                      char *names, size_t len)
{
    size_t used = 0;
    disk_room all = {SM_MACHINE_MAX_DISKS, 0};
    names[0] = '\0';
    for (size_t i = 1; i < chain->n; i++) {
        int err = add_disk(b, n, chain->paths[i], 1, &all);
        if (err)
            return err;
        used += (size_t)snprintf(names + used, len - used, "%s/dev/vd%c", i > 1 ? "," : "",
                                 'a' + *n - 1);
    }
    return 0;
}

int sm_vm_image_prepare(sm_vm *vm, const sm_image *img, sm_vm_config *c, sm_vm_image_boot *b)
{
    const sm_image_info *info = sm_image_get_info(img);
    int err = sm_vm_pick_hostname(vm, c->hostname);
    if (!err)
        err = sm_image_inspect(info->digest, &vm->image);
    const sm_rootfs_chain *chain = sm_image_rootfs_chain(img);
    unsigned n = 0, lowers = (unsigned)chain->n - 1;
    disk_room r = {SM_MACHINE_MAX_DISKS - lowers,
                   SM_MACHINE_MAX_DISKS - lowers - 1 - (c->upper_disk != NULL)};
    char lower_names[SM_ROOTFS_MAX_CHAIN * 12];
    if (!err)
        err = add_disk(b, &n, chain->paths[0], 1, &r);
    if (!err && c->upper_disk && (err = sm_upper_disk_ensure(c->upper_disk)) == 0)
        err = add_disk(b, &n, c->upper_disk, 0, &r);
    for (unsigned i = 0; !err && i < c->ndisks; i++)
        err = add_disk(b, &n, c->disks[i].path, c->disks[i].read_only, &r);
    if (!err)
        err = add_lowers(b, &n, chain, lower_names, sizeof lower_names);
    if (!err && !c->initrd)
        err = sm_find_guest_file("initramfs-image.cpio", "SUPERMACHINE_IMAGE_INITRD", b->initrd,
                                 sizeof b->initrd);
    if (err)
        return err;
    int len = snprintf(b->cmdline, sizeof b->cmdline, "sm_root=/dev/vda%s%s%s%s%s",
                       lowers ? " sm_lower=" : "", lower_names,
                       c->upper_disk ? " sm_upper=/dev/vdb" : "", c->cmdline ? " " : "",
                       c->cmdline ? c->cmdline : "");
    if (len < 0 || (size_t)len >= sizeof b->cmdline)
        return sm_fail(E2BIG, "the kernel command line is too long");
    c->disks = b->disks;
    c->ndisks = n;
    c->cmdline = b->cmdline;
    if (!c->initrd)
        c->initrd = b->initrd;
    if (c->network == SM_NETWORK_DEFAULT)
        c->network = SM_NETWORK_USER;
    return 0;
}

/* docker's /etc/hosts for a container on a network of its own; ip NULL
 * without one. */
static void format_hosts(const sm_vm *vm, const char *ip, char *out, size_t len)
{
    snprintf(out, len,
             "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
             "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
             "ff02::2\tip6-allrouters\n%s%s%s%s",
             ip ? ip : "", ip ? "\t" : "", ip ? vm->hostname : "", ip ? "\n" : "");
}

/* The guest's own address: slirp's, or the one it took over from its
 * network namespace's interface. */
static const char *guest_ip(const sm_vm *vm, const sm_vm_config *c)
{
    if (c->network == SM_NETWORK_USER)
        return SLIRP_GUEST_IP;
    return c->network == SM_NETWORK_NETNS && vm->netns ? vm->netns->ip : NULL;
}

int sm_vm_image_setup(sm_vm *vm, const sm_vm_config *c, int with_etc)
{
    uint8_t seed[64];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        return sm_fail(errno, "getrandom: %s", strerror(errno));
    sm_agent_conn *a;
    int err = sm_vm_agent_open(vm, &a);
    if (err)
        return err;
    char hosts[512];
    /* In a namespace, DNS is its owner's: the engine mounts its own
     * resolv.conf, as for a container there. A restored VM has the one
     * its boot wrote already (a restore keeps the network it had). */
    int slirp = c->network == SM_NETWORK_USER && !vm->restored;
    format_hosts(vm, guest_ip(vm, c), hosts, sizeof hosts);
    sm_agent_system sys = {
        .hostname = vm->hostname, .seed = seed, .seed_len = sizeof seed,
        .realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec,
        .etc_hostname = with_etc, .etc_hosts = with_etc ? hosts : NULL,
        .resolv_conf = with_etc && slirp ? "nameserver " SLIRP_DNS "\n" : NULL};
    err = sm_agent_system_set(a, &sys);
    if (err)
        sm_agent_conn_close(a);
    else
        sm_vm_agent_keep(vm, a);
    return err;
}
