/* MOUNT of a container's filesystem, as an OCI runtime makes it: a bind of
 * a guest path or a kernel filesystem (proc, sysfs, devpts, mqueue, tmpfs,
 * cgroup2) at a target under the container's root. The options are
 * mount(8)'s words: those the kernel takes as flags become flags, the
 * propagation words a second call, the rest the filesystem's data. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent_int.h"

typedef struct mount_opts {
    unsigned long flags;        /* for mount(2) */
    unsigned long propagation;  /* MS_PRIVATE, MS_SHARED, ... with MS_REC */
    char data[SM_AGENT_MOUNT_OPTIONS_MAX + 1];
} mount_opts;

static const struct word {
    const char *word;
    unsigned long set, clear;
} flag_words[] = {
    {"ro", MS_RDONLY, 0},          {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},      {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},        {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},      {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},   {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},    {"atime", 0, MS_NOATIME},
    {"noatime", MS_NOATIME, 0},    {"diratime", 0, MS_NODIRATIME},
    {"nodiratime", MS_NODIRATIME, 0}, {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME}, {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME}, {"lazytime", MS_LAZYTIME, 0},
    {"nolazytime", 0, MS_LAZYTIME}, {"silent", MS_SILENT, 0},
    {"loud", 0, MS_SILENT},        {"defaults", 0, 0},
    {"bind", MS_BIND, 0},          {"rbind", MS_BIND | MS_REC, 0},
}, propagation_words[] = {
    {"private", MS_PRIVATE, 0},    {"rprivate", MS_PRIVATE | MS_REC, 0},
    {"shared", MS_SHARED, 0},      {"rshared", MS_SHARED | MS_REC, 0},
    {"slave", MS_SLAVE, 0},        {"rslave", MS_SLAVE | MS_REC, 0},
    {"unbindable", MS_UNBINDABLE, 0}, {"runbindable", MS_UNBINDABLE | MS_REC, 0},
};

#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct word *find(const struct word *w, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(w[i].word, word))
            return &w[i];
    return NULL;
}

static void add_data(mount_opts *o, const char *word)
{
    size_t used = strlen(o->data);
    /* Fits: data holds at most the whole options string. */
    snprintf(o->data + used, sizeof o->data - used, "%s%s", used ? "," : "", word);
}

static void split_options(const char *in, mount_opts *o)
{
    char copy[SM_AGENT_MOUNT_OPTIONS_MAX + 1];
    memset(o, 0, sizeof *o);
    snprintf(copy, sizeof copy, "%s", in ? in : "");
    for (char *save, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        const struct word *f = find(flag_words, NWORDS(flag_words), w);
        const struct word *p = f ? NULL : find(propagation_words, NWORDS(propagation_words), w);
        if (f)
            o->flags = (o->flags | f->set) & ~f->clear;
        else if (p)
            o->propagation = p->set;
        else
            add_data(o, w);
    }
}

static bool is_bind(const char *type)
{
    return !strcmp(type, "bind") || !strcmp(type, "rbind");
}

static bool is_kernel_fs(const char *type)
{
    static const char *const types[] = {"proc", "sysfs", "devpts", "mqueue", "tmpfs", "cgroup2"};
    for (size_t i = 0; i < NWORDS(types); i++)
        if (!strcmp(types[i], type))
            return true;
    return false;
}

/* Where to mount, made as the source needs it (an empty file for a file,
 * else a directory, with the missing directories above): the path itself,
 * or with a root a /proc/self/fd path of what it resolves to inside the
 * root (*fd, to close). Called again after a mount, it names the new
 * mount, not what lies beneath, which the first fd still holds. */
static int target_at(const sm_agent_mount *m, bool file, char *at, size_t n, int *fd)
{
    *fd = -1;
    if (!m->root) {
        snprintf(at, n, "%s", m->path);
        return file ? mount_file_target(m->path) : mount_mkdirs(m->path);
    }
    int err = in_root_open(m->root, m->path, file, fd);
    if (!err)
        snprintf(at, n, "/proc/self/fd/%d", *fd);
    return err;
}

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

/* A bind ignores the flags but MS_REC: ro, nosuid and the like take a
 * remount of the new mount point, as mount(8) does; then the propagation.
 * A bind whose remount fails is undone. */
static int finish(const sm_agent_mount *m, const mount_opts *o, bool bind, bool file)
{
    unsigned long rest = bind ? o->flags & ~(MS_BIND | MS_REC) : 0;
    char at[64 + 4096];
    int fd;
    if (!rest && !o->propagation)
        return 0;
    int err = target_at(m, file, at, sizeof at, &fd);
    if (!err && rest && mount(NULL, at, NULL, MS_REMOUNT | MS_BIND | rest, NULL) < 0) {
        err = -errno;
        umount2(at, MNT_DETACH);
    }
    if (!err && o->propagation && mount(NULL, at, NULL, o->propagation, NULL) < 0)
        err = -errno;
    close_fd(fd);
    return err;
}

static int mount_fs(const sm_agent_mount *m, const mount_opts *o)
{
    bool bind = is_bind(m->fstype), rec = !strcmp(m->fstype, "rbind") || (o->flags & MS_REC);
    struct stat st;
    if (bind && stat(m->source, &st) < 0)
        return -errno;
    bool file = bind && !S_ISDIR(st.st_mode);
    char at[64 + 4096];
    int fd, err = target_at(m, file, at, sizeof at, &fd);
    if (err)
        return err;
    if (bind && mount(m->source, at, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
        err = -errno;
    else if (!bind && mount(m->fstype, at, m->fstype, o->flags & ~(MS_BIND | MS_REC),
                            o->data[0] ? o->data : NULL) < 0)
        err = -errno;
    close_fd(fd);
    return err ? err : finish(m, o, bind, file);
}

int mount_fs_begin(conn *c, const sm_agent_mount *m)
{
    bool bind = is_bind(m->fstype);
    if (!bind && !is_kernel_fs(m->fstype))
        return conn_reply_error(c, EINVAL, "cannot mount %s: unknown type %s", m->path,
                                m->fstype);
    if (bind && !m->source)
        return conn_reply_error(c, EINVAL, "cannot bind onto %s: no source", m->path);
    mount_opts o;
    split_options(m->options, &o);
    /* A bind has no data: a word here is a mistake, not a no-op. */
    if (bind && o.data[0])
        return conn_reply_error(c, EINVAL, "cannot bind %s onto %s: unknown options %s",
                                m->source, m->path, o.data);
    int err = mount_fs(m, &o);
    if (err)
        return conn_reply_error(c, -err, "cannot mount %s at %s%s%s: %s",
                                bind ? m->source : m->fstype, m->path,
                                m->root ? " inside " : "", m->root ? m->root : "",
                                strerror(-err));
    sm_agent_encode_ok(&c->out, 0);
    return 0;
}
