#include "oci-runtime/pod.h"
#include "oci-runtime/report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

sm_oci_role sm_oci_pod_role(const sm_oci_spec *spec, const char **sandbox_id)
{
    const char *type = sm_oci_annotation(spec, "io.kubernetes.cri.container-type");
    const char *sandbox = sm_oci_annotation(spec, "io.kubernetes.cri.sandbox-id");
    if (!type) {
        type = sm_oci_annotation(spec, "io.kubernetes.cri-o.ContainerType");
        sandbox = sm_oci_annotation(spec, "io.kubernetes.cri-o.SandboxID");
    }
    *sandbox_id = sandbox;
    if (type && !strcmp(type, "sandbox"))
        return SM_OCI_SANDBOX;
    return type && !strcmp(type, "container") ? SM_OCI_MEMBER : SM_OCI_SOLO;
}

static void pod_dir(const sm_oci_globals *g, const char *sandbox, char *out, size_t len)
{
    snprintf(out, len, "%s/%s/pod", g->root, sandbox);
}

int sm_oci_pod_prepare(const sm_oci_state *st, sm_oci_vm_plan *plan, char *err, size_t len)
{
    char dir[PATH_MAX];
    sm_oci_state_path(st, "pod", dir, sizeof dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return sm_oci_refuse(err, len, "cannot create %s: %s", dir, strerror(errno));
    if (mount(dir, dir, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, dir, NULL, MS_SHARED, NULL) < 0)
        return sm_oci_refuse(err, len, "cannot make %s a shared mount (a pod needs root): %s", dir,
                      strerror(errno));
    if (plan->config.nshares == SM_OCI_MAX_SHARES)
        return sm_oci_refuse(err, len, "a pod's sandbox takes at most %d bind mounts",
                      SM_OCI_MAX_SHARES - 1);
    snprintf(plan->pod_dir, sizeof plan->pod_dir, "%s", dir);
    plan->shares[plan->config.nshares++] = (sm_share){plan->pod_dir, SM_OCI_POD_GUEST, 0};
    return 0;
}

void sm_oci_pod_guest_root(const sm_oci_state *st, char *out, size_t len)
{
    snprintf(out, len, SM_OCI_POD_GUEST "/%s/rootfs", st->id);
}

/* A file or directory at path to bind over, like the source. */
static int mount_point(const char *path, bool dir)
{
    if (dir)
        return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static int host_bind(const char *src, const char *dst, char *err, size_t len)
{
    struct stat st;
    if (stat(src, &st) < 0)
        return sm_oci_refuse(err, len, "%s: %s", src, strerror(errno));
    int e = mount_point(dst, S_ISDIR(st.st_mode));
    if (e || mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        return sm_oci_refuse(err, len, "cannot bind %s into the pod: %s", src,
                      strerror(e ? -e : errno));
    return 0;
}

/* dest inside the member's root, resolved there as a chroot would. */
static int guest_mount(sm_vm *vm, const char *type, const char *source, const char *root,
                       const char *dest, const char *options, char *err, size_t len)
{
    sm_mount m = {sizeof m, type, source, dest, options, root};
    if (sm_vm_mount(vm, &m) < 0)
        return sm_oci_refuse(err, len, "cannot mount %s at %s in the pod's VM: %s", type, dest,
                      sm_last_error());
    return 0;
}

/* What every container finds in its root: the kernel's filesystems. */
static int kernel_mounts(sm_vm *vm, const char *root, char *err, size_t len)
{
    return guest_mount(vm, "proc", NULL, root, "/proc", "nosuid,nodev,noexec", err, len) ||
           guest_mount(vm, "sysfs", NULL, root, "/sys", "nosuid,nodev,noexec,ro", err, len) ||
           guest_mount(vm, "bind", "/dev", root, "/dev", NULL, err, len) ||
           guest_mount(vm, "rbind", "/dev/pts", root, "/dev/pts", NULL, err, len) ||
           guest_mount(vm, "tmpfs", NULL, root, "/dev/shm", "nosuid,nodev,mode=1777", err,
                       len) ||
           guest_mount(vm, "mqueue", NULL, root, "/dev/mqueue", "nosuid,nodev,noexec", err,
                       len)
               ? -1 : 0;
}

/* The spec's own mounts: binds come in through the pod directory. */
static int spec_mounts(const sm_oci_state *st, const sm_oci_spec *spec, sm_vm *vm,
                       const char *host_dir, const char *root, char *err, size_t len)
{
    sm_oci_vm_plan plan;
    if (sm_oci_vm_plan_make(spec, &plan, err, len) < 0)
        return -1;
    for (unsigned i = 0; i < plan.config.ntmpfs; i++)
        if (guest_mount(vm, "tmpfs", NULL, root, plan.tmpfs[i].path, plan.tmpfs[i].options,
                        err, len))
            return -1;
    for (unsigned i = 0; i < plan.config.nshares; i++) {
        char host[PATH_MAX], guest[PATH_MAX];
        snprintf(host, sizeof host, "%s/m%u", host_dir, i);
        snprintf(guest, sizeof guest, SM_OCI_POD_GUEST "/%s/m%u", st->id, i);
        if (host_bind(plan.shares[i].host_path, host, err, len) < 0 ||
            guest_mount(vm, "bind", guest, root, plan.shares[i].guest_path,
                        plan.shares[i].read_only ? "ro" : NULL, err, len))
            return -1;
    }
    return 0;
}

int sm_oci_pod_join(const sm_oci_state *st, const sm_oci_spec *spec, sm_vm *vm,
                    char *guest_root, size_t root_len, char *err, size_t len)
{
    char dir[PATH_MAX], rootfs[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/../%s/pod/%s", st->dir, st->sandbox, st->id);
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return sm_oci_refuse(err, len, "cannot create %s: %s", dir, strerror(errno));
    if (host_bind(spec->root_path, rootfs, err, len) < 0)
        return -1;
    if (spec->root_readonly && mount(NULL, rootfs, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY,
                                     NULL) < 0)
        return sm_oci_refuse(err, len, "cannot make %s read-only: %s", rootfs, strerror(errno));
    sm_oci_pod_guest_root(st, guest_root, root_len);
    return kernel_mounts(vm, guest_root, err, len) ||
           spec_mounts(st, spec, vm, dir, guest_root, err, len) ? -1 : 0;
}

void sm_oci_pod_unmount(const sm_oci_globals *g, const sm_oci_state *st)
{
    char dir[PATH_MAX];
    if (st->sandbox[0]) {
        pod_dir(g, st->sandbox, dir, sizeof dir);
        size_t n = strlen(dir);
        snprintf(dir + n, sizeof dir - n, "/%s", st->id);
    } else {
        sm_oci_state_path(st, "pod", dir, sizeof dir);
        if (access(dir, F_OK) != 0)
            return;  /* a container of its own: no pod directory, nothing mounted */
    }
    /* Detaching takes what is mounted beneath along. */
    char sub[PATH_MAX + 8];
    snprintf(sub, sizeof sub, "%s/rootfs", dir);
    umount2(sub, MNT_DETACH);
    for (int i = 0; i < SM_OCI_MAX_SHARES; i++) {
        snprintf(sub, sizeof sub, "%s/m%d", dir, i);
        umount2(sub, MNT_DETACH);
        unlink(sub);
        rmdir(sub);
    }
    umount2(dir, MNT_DETACH);
    snprintf(sub, sizeof sub, "%s/rootfs", dir);
    rmdir(sub);
    rmdir(dir);
}
