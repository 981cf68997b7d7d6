/* MOUNT: a host directory or file shared over virtio-9p, mounted where the
 * host asks; a tmpfs (--tmpfs); or the root made read-only (--read-only);
 * a container's mount is agent_mount_fs.c's. A single-file share is
 * mounted out of sight, its one entry bound onto the target, and the
 * share's own mount dropped again, so the guest keeps no path to the
 * share's root (which holds only that entry anyway: the host serves
 * nothing else). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_int.h"
#include "p9_mount.h"

#define STAGING "/dev/.sm-share-XXXXXX"

int mount_mkdirs(const char *path)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
        return -ENAMETOOLONG;
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

static int mount_9p(const sm_agent_mount *m, const char *at)
{
    char opts[128];
    snprintf(opts, sizeof opts, SM_INIT_9P_OPTIONS_FMT, SM_P9_MAX_MSIZE);
    unsigned long flags = m->read_only ? MS_RDONLY : 0;
    return mount(m->tag, at, "9p", flags, opts) < 0 ? -errno : 0;
}

static int mount_dir(const sm_agent_mount *m)
{
    int err = mount_mkdirs(m->path);
    return err ? err : mount_9p(m, m->path);
}

int mount_file_target(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode) ? -EISDIR : 0;
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        int err = mount_mkdirs(parent);
        if (err)
            return err;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static int bind_entry(const sm_agent_mount *m, const char *staging)
{
    char src[4096];
    if (snprintf(src, sizeof src, "%s/%s", staging, m->entry) >= (int)sizeof src)
        return -ENAMETOOLONG;
    int err = mount_file_target(m->path);
    if (err)
        return err;
    if (mount(src, m->path, NULL, MS_BIND, NULL) < 0)
        return -errno;
    if (m->read_only &&
        mount(NULL, m->path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
        err = -errno;
        umount2(m->path, MNT_DETACH);
    }
    return err;
}

static int mount_file(const sm_agent_mount *m)
{
    char staging[] = STAGING;
    if (!mkdtemp(staging))
        return -errno;
    int err = mount_9p(m, staging);
    if (!err) {
        err = bind_entry(m, staging);
        umount2(staging, MNT_DETACH);
    }
    rmdir(staging);
    return err;
}

/* docker's --tmpfs options: the flags mount(2) takes as flags, the rest
 * (size=, mode=, uid=, nr_inodes=...) passed to tmpfs as data. Without
 * options, docker's defaults: noexec, nosuid, nodev. */
static int tmpfs_options(const char *in, unsigned long *flags, char *data, size_t len)
{
    static const struct { const char *word; unsigned long set, clear; } words[] = {
        {"ro", MS_RDONLY, 0},       {"rw", 0, MS_RDONLY},     {"noexec", MS_NOEXEC, 0},
        {"exec", 0, MS_NOEXEC},     {"nosuid", MS_NOSUID, 0}, {"suid", 0, MS_NOSUID},
        {"nodev", MS_NODEV, 0},     {"dev", 0, MS_NODEV},
    };
    char copy[256];
    size_t used = 0;
    *flags = MS_NOEXEC | MS_NOSUID | MS_NODEV;
    data[0] = '\0';
    snprintf(copy, sizeof copy, "%s", in ? in : "");
    for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < sizeof words / sizeof words[0] && strcmp(w, words[i].word))
            i++;
        if (i < sizeof words / sizeof words[0]) {
            *flags = (*flags | words[i].set) & ~words[i].clear;
            continue;
        }
        int n = snprintf(data + used, len - used, "%s%s", used ? "," : "", w);
        if (n < 0 || (size_t)n >= len - used)
            return -E2BIG;
        used += (size_t)n;
    }
    return 0;
}

static int mount_tmpfs(const sm_agent_mount *m)
{
    unsigned long flags;
    char data[300];
    int err = tmpfs_options(m->options, &flags, data, sizeof data);
    if (!err)
        err = mount_mkdirs(m->path);
    if (!err && mount("tmpfs", m->path, "tmpfs", flags, data[0] ? data : NULL) < 0)
        err = -errno;
    return err;
}

/* A bind remount changes only this mount point's flags: files open for
 * writing elsewhere do not make it fail, as a superblock remount would. */
static int remount_ro(const sm_agent_mount *m)
{
    return mount(NULL, m->path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0 ? -errno : 0;
}

static int mount_kind(conn *c, const sm_agent_mount *m)
{
    int err;
    switch (m->kind) {
    case SM_AGENT_MOUNT_TMPFS:
        if ((err = mount_tmpfs(m)) != 0)
            return conn_reply_error(c, -err, "cannot mount a tmpfs at %s: %s", m->path,
                                    strerror(-err));
        break;
    case SM_AGENT_MOUNT_REMOUNT_RO:
        if ((err = remount_ro(m)) != 0)
            return conn_reply_error(c, -err, "cannot make %s read-only: %s", m->path,
                                    strerror(-err));
        break;
    case SM_AGENT_MOUNT_FS:
        return mount_fs_begin(c, m);
    default:
        return -1;
    }
    sm_agent_encode_ok(&c->out, 0);
    return 0;
}

int mount_begin(conn *c, const sm_agent_frame *f)
{
    sm_agent_mount m;
    const char *why = "";
    if (sm_agent_decode_mount(f, &m, &why) < 0)
        return conn_fail(c, EBADMSG, "bad MOUNT: %s", why);
    if (m.kind != SM_AGENT_MOUNT_SHARE)
        return mount_kind(c, &m);
    int err = m.entry ? mount_file(&m) : mount_dir(&m);
    if (err)
        return conn_reply_error(c, -err, "cannot mount share %s at %s: %s", m.tag, m.path,
                                strerror(-err));
    sm_agent_encode_ok(&c->out, 0);
    return 0;
}
