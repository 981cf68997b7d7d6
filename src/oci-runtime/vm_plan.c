#include "oci-runtime/vm_plan.h"
#include "oci-runtime/report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MIN_MEMORY_MIB 64

static bool has_option(const sm_oci_mount *m, const char *opt)
{
    for (size_t i = 0; m->options && m->options[i]; i++)
        if (!strcmp(m->options[i], opt))
            return true;
    return false;
}

static bool is_bind(const sm_oci_mount *m)
{
    return (m->type && !strcmp(m->type, "bind")) || has_option(m, "bind") ||
           has_option(m, "rbind");
}

/* What the guest mounts for itself wherever a container expects it. */
static bool guest_own(const sm_oci_mount *m)
{
    static const char *const kernel_fs[] = {"proc", "sysfs", "devpts", "mqueue", "cgroup",
                                            "cgroup2", NULL};
    for (int i = 0; m->type && kernel_fs[i]; i++)
        if (!strcmp(m->type, kernel_fs[i]))
            return true;
    return !strcmp(m->destination, "/dev") || !strcmp(m->destination, "/dev/shm");
}

/* The mount options a guest tmpfs takes: its flags and its own data.
 * Propagation, atime policy and the like mean nothing to a tmpfs inside
 * a VM of its own (containerd's /run says "strictatime"). */
static bool tmpfs_word(const char *o)
{
    static const char *const flags[] = {"ro", NULL};
    static const char *const data[] = {"size=", "mode=", "uid=", "gid=", "nr_inodes=",
                                       "nr_blocks=", NULL};
    for (int k = 0; flags[k]; k++)
        if (!strcmp(o, flags[k]))
            return true;
    for (int k = 0; data[k]; k++)
        if (!strncmp(o, data[k], strlen(data[k])))
            return true;
    return false;
}

/* The guest's tmpfs defaults to docker's --tmpfs (noexec, nosuid,
 * nodev); an OCI mount is none of those unless it says so. */
static void tmpfs_options(const sm_oci_mount *m, char *out, size_t len)
{
    size_t off = (size_t)snprintf(out, len, "%s,%s,%s", has_option(m, "noexec") ? "noexec" : "exec",
                                  has_option(m, "nosuid") ? "nosuid" : "suid",
                                  has_option(m, "nodev") ? "nodev" : "dev");
    for (size_t i = 0; m->options && m->options[i]; i++) {
        if (tmpfs_word(m->options[i]) && off + strlen(m->options[i]) + 2 < len)
            off += (size_t)snprintf(out + off, len - off, ",%s", m->options[i]);
    }
}

static int add_bind(const sm_oci_mount *m, size_t i, sm_oci_vm_plan *p, char *err, size_t len)
{
    struct stat st;
    if (!m->source || stat(m->source, &st) < 0)
        return sm_oci_refuse(err, len, "mounts[%zu]: the source of %s (%s) %s", i, m->destination,
                      m->source ? m->source : "none",
                      m->source ? strerror(errno) : "is missing");
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        return 0;  /* a device node: the guest's /dev has its own */
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return sm_oci_refuse(err, len, "mounts[%zu]: %s is neither a directory nor a file: only "
                      "those can be shared with a VM", i, m->source);
    if (p->config.nshares == SM_OCI_MAX_SHARES)
        return sm_oci_refuse(err, len, "mounts: at most %d bind mounts", SM_OCI_MAX_SHARES);
    p->shares[p->config.nshares++] = (sm_share){m->source, m->destination,
                                                has_option(m, "ro")};
    return 0;
}

static int add_mount(const sm_oci_mount *m, size_t i, sm_oci_vm_plan *p, char *err, size_t len)
{
    if (guest_own(m))
        return 0;
    if (is_bind(m))
        return add_bind(m, i, p, err, len);
    if (m->type && !strcmp(m->type, "tmpfs")) {
        unsigned n = p->config.ntmpfs;
        if (n == SM_OCI_MAX_TMPFS)
            return sm_oci_refuse(err, len, "mounts: at most %d tmpfs mounts", SM_OCI_MAX_TMPFS);
        tmpfs_options(m, p->tmpfs_options[n], sizeof p->tmpfs_options[n]);
        p->tmpfs[n] = (sm_tmpfs){m->destination, p->tmpfs_options[n]};
        p->config.ntmpfs++;
        return 0;
    }
    return sm_oci_refuse(err, len, "mounts[%zu]: a %s mount at %s cannot be made in a VM (bind, "
                  "tmpfs and the kernel filesystems can)", i, m->type ? m->type : "typeless",
                  m->destination);
}

static void resources(const sm_oci_spec *s, sm_vm_config *c)
{
    if (s->memory_limit) {
        uint64_t mib = (s->memory_limit + (1 << 20) - 1) >> 20;
        c->memory_mib = mib < MIN_MEMORY_MIB ? MIN_MEMORY_MIB
                        : mib > UINT32_MAX   ? UINT32_MAX
                                             : (uint32_t)mib;
    }
    if (s->cpu_quota > 0 && s->cpu_period > 0) {
        uint64_t milli = (uint64_t)s->cpu_quota * 1000 / s->cpu_period;
        if (milli == 0)
            milli = 1;
        c->cpus = (uint32_t)((milli + 999) / 1000);
        if (milli % 1000)
            c->cpu_quota_milli = (uint32_t)milli;
    }
}

/* A namespace file naming the one we run in (a runc-style "join the
 * host's network"): its interface is the host's, never the VM's. */
static bool own_namespace(const char *path)
{
    struct stat a, b;
    return stat(path, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* As runc's namespaces: a new network namespace (no path) has loopback
 * alone, and so has the VM; CNI's namespace (a path) gives the VM's NIC
 * its interface; the host's (no namespace, or a path naming ours) is
 * the closest a VM has to it, user-mode NAT. */
static void network(const sm_oci_spec *s, sm_vm_config *c)
{
    c->network = s->has_netns && !s->netns_path ? SM_NETWORK_NONE : SM_NETWORK_USER;
    if (s->netns_path && *s->netns_path && !own_namespace(s->netns_path)) {
        c->network = SM_NETWORK_NETNS;
        c->netns_path = s->netns_path;
    }
}

int sm_oci_vm_plan_make(const sm_oci_spec *s, sm_oci_vm_plan *p, char *err, size_t len)
{
    memset(p, 0, sizeof *p);
    sm_vm_config *c = &p->config;
    c->size = sizeof *c;
    c->root_dir = s->root_path;
    c->root_read_only = s->root_readonly;
    c->hostname = s->hostname && *s->hostname ? s->hostname : NULL;
    network(s, c);
    c->shares = p->shares;
    c->tmpfs = p->tmpfs;
    for (size_t i = 0; i < s->nmounts; i++)
        if (add_mount(&s->mounts[i], i, p, err, len))
            return -1;
    resources(s, c);
    return 0;
}

void sm_oci_exec_of(const sm_oci_process *proc, sm_exec *ex)
{
    memset(ex, 0, sizeof *ex);
    ex->size = sizeof *ex;
    ex->argv = proc->args;
    ex->env = proc->env;
    ex->cwd = proc->cwd;
    ex->uid = proc->uid;
    ex->gid = proc->gid;
    ex->pty = proc->terminal;
    ex->rows = proc->rows;
    ex->cols = proc->cols;
    ex->has_umask = proc->umask >= 0;
    ex->umask = proc->umask >= 0 ? (uint32_t)proc->umask : 0;
    /* runc sets exactly these groups, none from the guest's /etc/group. */
    ex->groups = proc->gids;
    ex->ngroups = (unsigned)proc->ngids;
    ex->has_groups = 1;
    ex->no_new_privileges = proc->no_new_privileges;
}
