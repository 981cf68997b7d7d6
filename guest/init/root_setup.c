/*
 * The image's root, as a container runtime sets one up: the image's
 * read-only disk (sm_root=/dev/vdX on the kernel command line) joined by
 * overlayfs with a writable layer (a tmpfs, or the ext4 disk named by
 * sm_upper=/dev/vdY), then made the root of everything that runs after.
 * An image built over another holds only its own layers: sm_lower= lists
 * the disks it builds on (comma-separated, nearest first), stacked below
 * it as overlayfs's further lower layers; its whiteouts and opaque
 * directories are overlayfs's own.
 * Or a host directory shared over 9P (sm_root=9p:TAG, read-only with
 * sm_root_ro=1), as an OCI runtime's root.path: mounted as it is, so the
 * guest's writes land in the host's directory.
 *
 * pivot_root(2) cannot take the initramfs away (the kernel refuses to
 * unmount rootfs), so this moves the new root over / and chroots into it,
 * as switch_root does. The initramfs keeps only sm-init, so nothing of
 * value stays reachable below.
 */
#include "root_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9_mount.h"

#define P9_PREFIX "9p:"
#define LOWER "/sm/lower"
#define RW "/sm/rw"
#define ROOT "/sm/root"

static int fail(const char *what, const char *path)
{
    int err = errno;
    char msg[320];
    snprintf(msg, sizeof msg, "sm-init: %s %s: %s\n", what, path, strerror(err));
    ssize_t n = write(STDERR_FILENO, msg, strlen(msg));
    (void)n;
    return -err;
}

static int mount_at(const char *src, const char *dir, const char *type, unsigned long flags,
                    const char *opts)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return fail("cannot create", dir);
    if (mount(src, dir, type, flags, opts) < 0)
        return fail("cannot mount", dir);
    return 0;
}

/* The writable layer: upper and work directories on one filesystem, as
 * overlayfs requires. A persistent upper disk is formatted by the host. */
static int mount_rw(const char *upper_dev)
{
    int err = upper_dev ? mount_at(upper_dev, RW, "ext4", MS_NOATIME, NULL)
                        : mount_at("tmpfs", RW, "tmpfs", 0, "mode=0755");
    if (err)
        return err;
    if ((mkdir(RW "/upper", 0755) < 0 && errno != EEXIST) ||
        (mkdir(RW "/work", 0755) < 0 && errno != EEXIST))
        return fail("cannot create", RW "/upper");
    return 0;
}

/* The host stacks at most 4 images (SM_ROOTFS_MAX_CHAIN); the guest takes
 * twice that, so the two can drift apart a little without breaking boots,
 * and refuses more rather than mount a truncated stack. */
#define MAX_LOWERS 8

/* The image's disks, mounted read-only, as overlayfs's lowerdir= value:
 * the image's own on top. */
static int mount_lowers(const char *root_dev, const char *lowers, char *dirs, size_t len)
{
    char list[256], at[32];
    if (snprintf(list, sizeof list, "%s", lowers ? lowers : "") >= (int)sizeof list) {
        errno = E2BIG;
        return fail("cannot take", "sm_lower= (too long)");
    }
    int err = mount_at(root_dev, LOWER, "ext4", MS_RDONLY | MS_NOATIME, NULL);
    size_t used = (size_t)snprintf(dirs, len, "%s", LOWER);
    unsigned i = 1;
    for (char *save, *dev = strtok_r(list, ",", &save); !err && dev;
         dev = strtok_r(NULL, ",", &save), i++) {
        snprintf(at, sizeof at, LOWER "%u", i);
        if (i > MAX_LOWERS || used + 1 + strlen(at) >= len) {
            errno = E2BIG;
            return fail("cannot stack more than 8 disks from", "sm_lower=");
        }
        /* ext4 with the read-only feature flag cannot be mounted rw; the
         * images are shared by every VM, so they must not be anyway. */
        err = mount_at(dev, at, "ext4", MS_RDONLY | MS_NOATIME, NULL);
        used += (size_t)snprintf(dirs + used, len - used, ":%s", at);
    }
    return err;
}

/* Moves the initramfs's /dev along, so the boot channel and console
 * nodes stay where they are. */
static int switch_root(void)
{
    if (mkdir(ROOT "/dev", 0755) < 0 && errno != EEXIST)
        return fail("cannot create", ROOT "/dev");
    if (mount("/dev", ROOT "/dev", NULL, MS_MOVE, NULL) < 0)
        return fail("cannot move /dev to", ROOT "/dev");
    if (chdir(ROOT) < 0)
        return fail("cannot enter", ROOT);
    if (mount(ROOT, "/", NULL, MS_MOVE, NULL) < 0)
        return fail("cannot move the root from", ROOT);
    if (chroot(".") < 0 || chdir("/") < 0)
        return fail("cannot enter", "the image's root");
    return 0;
}

/* No overlay: a container's root directory is its writable layer. */
static int mount_9p_root(const char *tag)
{
    char opts[160];
    snprintf(opts, sizeof opts, SM_INIT_9P_OPTIONS_FMT, SM_P9_MAX_MSIZE);
    unsigned long flags = getenv("sm_root_ro") ? MS_RDONLY : 0;
    int err = mount_at(tag, ROOT, "9p", flags, opts);
    return err ? err : switch_root();
}

int sm_init_root_setup(void)
{
    const char *root_dev = getenv("sm_root");
    if (!root_dev)
        return 0;
    if (!strncmp(root_dev, P9_PREFIX, strlen(P9_PREFIX))) {
        int err = mount_9p_root(root_dev + strlen(P9_PREFIX));
        return err ? err : 1;
    }
    const char *upper_dev = getenv("sm_upper");
    char lowers[320], opts[512];
    int err = mount_lowers(root_dev, getenv("sm_lower"), lowers, sizeof lowers);
    if (!err)
        err = mount_rw(upper_dev);
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=" RW "/upper,workdir=" RW "/work", lowers);
    if (!err)
        err = mount_at("overlay", ROOT, "overlay", 0, opts);
    if (!err)
        err = switch_root();
    return err ? err : 1;
}
