#include "oci-runtime/state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool sm_oci_id_valid(const char *id)
{
    if (!id || !*id || strlen(id) >= 256 || !strcmp(id, ".") || !strcmp(id, ".."))
        return false;
    for (const char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_+-.", *p))
            return false;
    return true;
}

int sm_oci_state_init(const sm_oci_globals *g, const char *id, sm_oci_state *st)
{
    memset(st, 0, sizeof *st);
    if (!sm_oci_id_valid(id))
        return sm_oci_fail(g, "invalid container id '%s': use letters, digits, '_', '+', "
                           "'-' and '.' (at most 255)", id ? id : "");
    snprintf(st->id, sizeof st->id, "%s", id);
    snprintf(st->dir, sizeof st->dir, "%s/%s", g->root, id);
    return 0;
}

void sm_oci_state_path(const sm_oci_state *st, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", st->dir, name);
}

int sm_oci_state_write(const sm_oci_state *st)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s}", "id", st->id, "bundle",
                          st->bundle, "rootfs", st->rootfs, "pid", st->pid, "pid_start",
                          (json_int_t)st->pid_start, "vm", st->vm_id, "created", st->created,
                          "sandbox", st->sandbox);
    if (!o)
        return -ENOMEM;
    if (st->annotations)
        json_object_set(o, "annotations", st->annotations);
    char path[4200], tmp[4300];
    sm_oci_state_path(st, "state.json", path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int err = json_dump_file(o, tmp, JSON_COMPACT) == 0 ? 0 : -EIO;
    json_decref(o);
    int fd = err ? -1 : open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) < 0)
            err = -errno;
        close(fd);
    }
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err)
        unlink(tmp);
    return err;
}

static void copy_str(json_t *o, const char *key, char *out, size_t len)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(out, len, "%s", s ? s : "");
}

int sm_oci_state_read(const sm_oci_globals *g, const char *id, sm_oci_state *st)
{
    if (sm_oci_state_init(g, id, st))
        return -EINVAL;
    char path[4200];
    sm_oci_state_path(st, "state.json", path, sizeof path);
    json_t *o = json_load_file(path, 0, NULL);
    if (!o)
        return access(st->dir, F_OK) < 0 ? -ENOENT : -EIO;
    copy_str(o, "bundle", st->bundle, sizeof st->bundle);
    copy_str(o, "rootfs", st->rootfs, sizeof st->rootfs);
    copy_str(o, "vm", st->vm_id, sizeof st->vm_id);
    copy_str(o, "created", st->created, sizeof st->created);
    copy_str(o, "sandbox", st->sandbox, sizeof st->sandbox);
    st->pid = (int)json_integer_value(json_object_get(o, "pid"));
    st->pid_start = (uint64_t)json_integer_value(json_object_get(o, "pid_start"));
    st->annotations = json_incref(json_object_get(o, "annotations"));
    json_decref(o);
    return 0;
}

void sm_oci_state_free(sm_oci_state *st)
{
    json_decref(st->annotations);
    st->annotations = NULL;
}

uint64_t sm_oci_pid_start(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* After the command name, which may hold anything but ends at the
     * last ')': field 3 is the state, field 22 the start time. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
        return 0;
    p += 2;
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p, ' ');
        p = p ? p + 1 : NULL;
    }
    return p ? strtoull(p, NULL, 10) : 0;
}

bool sm_oci_keeper_alive(const sm_oci_state *st)
{
    return st->pid > 0 && sm_oci_pid_start(st->pid) == st->pid_start;
}

int sm_oci_mark(const sm_oci_state *st, const char *name, bool on)
{
    char path[4200];
    sm_oci_state_path(st, name, path, sizeof path);
    if (!on)
        return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static bool marked(const sm_oci_state *st, const char *name)
{
    char path[4200];
    sm_oci_state_path(st, name, path, sizeof path);
    return access(path, F_OK) == 0;
}

const char *sm_oci_status(const sm_oci_state *st)
{
    if (st->pid <= 0)
        return "creating";
    if (!sm_oci_keeper_alive(st))
        return "stopped";
    if (marked(st, "paused"))
        return "paused";
    return marked(st, "started") ? "running" : "created";
}

json_t *sm_oci_state_json(const sm_oci_state *st, const char *status)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "ociVersion",
                          SM_OCI_SPEC_VERSION, "id", st->id, "status", status, "pid",
                          strcmp(status, "stopped") ? st->pid : 0, "bundle", st->bundle,
                          "rootfs", st->rootfs, "created", st->created);
    if (o && st->annotations)
        json_object_set(o, "annotations", st->annotations);
    return o;
}

int sm_oci_state_open(const sm_oci_globals *g, const char *id, sm_oci_state *st)
{
    int err = sm_oci_state_read(g, id, st);
    if (err == -EINVAL)
        return 1;
    if (err == -ENOENT)
        return sm_oci_fail(g, "container %s does not exist", id);
    if (err)
        return sm_oci_fail(g, "cannot read the state of container %s: %s", id,
                           strerror(-err));
    return 0;
}

const char *sm_oci_id_arg(const sm_oci_globals *g, int argc, char **argv, int first,
                          bool extra)
{
    if (first >= argc || (!extra && first != argc - 1)) {
        sm_oci_fail(g, "%s needs %s container id", argv[0], extra ? "a" : "exactly one");
        return NULL;
    }
    return argv[first];
}

int sm_oci_write_pid_file(const char *path, int pid)
{
    char tmp[4200], text[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int n = snprintf(text, sizeof text, "%d", pid);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int err = write(fd, text, (size_t)n) == n ? 0 : -EIO;
    close(fd);
    if (!err && rename(tmp, path) < 0)
        err = -errno;
    if (err)
        unlink(tmp);
    return err;
}
