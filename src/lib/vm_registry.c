/* The per-user registry of VMs: runtime directories, meta.json, names,
 * liveness by lock. */
#include "lib/vm_registry.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/vm_dir.h"
#include "util/error.h"
#include "util/file.h"

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return sm_fail(errno, "cannot create %s: %s", path, strerror(errno));
}

int sm_vm_base_dir(char *out, size_t len)
{
    const char *rt = getenv("XDG_RUNTIME_DIR");
    if (rt && *rt)
        snprintf(out, len, "%s/supermachine", rt);
    else
        snprintf(out, len, "/tmp/supermachine-%u", (unsigned)getuid());
    int err = ensure_dir(out);
    struct stat st;
    /* A shared /tmp: the directory must be ours and private. */
    if (!err && (lstat(out, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
                 (st.st_mode & 077)))
        err = sm_fail(EPERM, "%s is not a private directory of this user", out);
    return err;
}

static int new_id(char id[65])
{
    uint8_t raw[32];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return sm_fail(errno, "getrandom: %s", strerror(errno));
    for (int i = 0; i < 32; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* Made under a temporary name with its lock taken, then renamed: `ps`
 * never sees the directory of a starting VM unlocked. */
int sm_vm_dir_new(char *dir, size_t len, char id[65], int *lock_fd)
{
    char base[512], tmp[600];
    int err = sm_vm_base_dir(base, sizeof base);
    if (err)
        return err;
    snprintf(tmp, sizeof tmp, "%s/.new-XXXXXX", base);
    if (!mkdtemp(tmp))
        return sm_fail(errno, "cannot create a VM directory in %s: %s", base, strerror(errno));
    int lock = sm_vm_lock_take(tmp);
    for (int tries = 0; lock >= 0 && tries < 8; tries++) {
        if ((err = new_id(id)) != 0)
            break;
        if ((size_t)snprintf(dir, len, "%s/%.12s", base, id) >= len) {
            err = sm_fail(ENAMETOOLONG, "runtime directory path too long");
            break;
        }
        if (rename(tmp, dir) == 0) {
            *lock_fd = lock;
            return 0;
        }
        if (errno != EEXIST && errno != ENOTEMPTY) {
            err = sm_fail(errno, "cannot create %s: %s", dir, strerror(errno));
            break;
        }
    }
    if (lock >= 0)
        close(lock);
    sm_vm_dir_remove(tmp);
    return lock < 0 ? lock : err ? err : sm_fail(EEXIST, "cannot find a free VM id");
}

static void set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, json_string(v));
}

int sm_vm_meta_write(const char *dir, const sm_vm_meta *m)
{
    json_t *o = json_object();
    set_str(o, "id", m->id);
    set_str(o, "name", m->name);
    set_str(o, "image", m->image);
    set_str(o, "image_digest", m->image_digest);
    set_str(o, "hostname", m->hostname);
    set_str(o, "command", m->command);
    set_str(o, "ports", m->ports);
    json_object_set_new(o, "created", json_integer(m->created));
    json_object_set_new(o, "detached", json_boolean(m->detached));
    json_object_set_new(o, "auto_remove", json_boolean(m->auto_remove));
    json_object_set_new(o, "stop_signal", json_integer(m->stop_signal));
    if (m->never_started)
        set_str(o, "state", "created");
    if (m->root_dir)
        json_object_set_new(o, "root_dir", json_true());
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    int err = text ? sm_file_write_atomic(path, text, strlen(text), 0600)
                   : sm_fail(ENOMEM, "out of memory");
    free(text);
    return err;
}

static void get_str(json_t *o, const char *k, char *out, size_t len)
{
    const char *v = json_string_value(json_object_get(o, k));
    snprintf(out, len, "%s", v ? v : "");
}

/* Quiet: callers on error paths must not lose the error they report. */
static int load_meta(const char *dir, sm_vm_meta *m)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    memset(m, 0, sizeof *m);
    json_error_t e;
    json_t *o = json_load_file(path, 0, &e);
    if (!json_is_object(o)) {
        json_decref(o);
        return -ENOENT;
    }
    get_str(o, "id", m->id, sizeof m->id);
    get_str(o, "name", m->name, sizeof m->name);
    get_str(o, "image", m->image, sizeof m->image);
    get_str(o, "image_digest", m->image_digest, sizeof m->image_digest);
    get_str(o, "hostname", m->hostname, sizeof m->hostname);
    get_str(o, "command", m->command, sizeof m->command);
    get_str(o, "ports", m->ports, sizeof m->ports);
    m->created = json_integer_value(json_object_get(o, "created"));
    m->detached = json_is_true(json_object_get(o, "detached"));
    m->auto_remove = json_is_true(json_object_get(o, "auto_remove"));
    m->stop_signal = (int)json_integer_value(json_object_get(o, "stop_signal"));
    m->never_started = json_is_string(json_object_get(o, "state"));
    m->root_dir = json_is_true(json_object_get(o, "root_dir"));
    json_decref(o);
    return 0;
}

int sm_vm_meta_read(const char *dir, sm_vm_meta *m)
{
    if (load_meta(dir, m) == 0)
        return 0;
    return sm_fail(ENOENT, "%s/meta.json is missing or unreadable", dir);
}

/* docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
static int valid_name(const char *n)
{
    if (!isalnum((unsigned char)n[0]) || strlen(n) >= 128)
        return 0;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
            return 0;
    return 1;
}

static int names_dir(char *out, size_t len)
{
    char base[512];
    int err = sm_vm_base_dir(base, sizeof base);
    if (!err) {
        snprintf(out, len, "%s/names", base);
        err = ensure_dir(out);
    }
    return err;
}

int sm_vm_name_claim(const char *name, const char *short_id)
{
    char dir[600], link[800];
    if (!valid_name(name))
        return sm_fail(EINVAL, "'%s' is not a valid name: use letters, digits and _ . - "
                       "(starting with a letter or digit)", name);
    int err = names_dir(dir, sizeof dir);
    if (err)
        return err;
    snprintf(link, sizeof link, "%s/%s", dir, name);
    if (symlink(short_id, link) == 0)
        return 0;
    if (errno != EEXIST)
        return sm_fail(errno, "cannot record the name %s: %s", name, strerror(errno));
    char other[64] = "";
    ssize_t n = readlink(link, other, sizeof other - 1);
    if (n > 0)
        other[n] = '\0';
    return sm_fail(EEXIST, "the name '%s' is already in use by VM %s; remove it (supermachine "
                   "rm %s) or choose another", name, other, name);
}

void sm_vm_name_release(const char *name)
{
    char dir[600], link[800];
    if (!name[0] || names_dir(dir, sizeof dir) != 0)
        return;
    snprintf(link, sizeof link, "%s/%s", dir, name);
    unlink(link);
}

static int find_by_prefix(const char *base, const char *prefix, char *dir, size_t len)
{
    size_t n = strlen(prefix), found = 0;
    if (n == 0 || strspn(prefix, "0123456789abcdef") != n)
        return 0;
    DIR *d = opendir(base);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strlen(e->d_name) != SM_VM_SHORT_ID)
            continue;
        /* A full id is longer than the directory's name: compare both ways. */
        size_t cmp = n < SM_VM_SHORT_ID ? n : SM_VM_SHORT_ID;
        if (strncmp(e->d_name, prefix, cmp) == 0) {
            snprintf(dir, len, "%s/%s", base, e->d_name);
            found++;
        }
    }
    if (d)
        closedir(d);
    return (int)found;
}

int sm_vm_find(const char *name_or_id, char *dir, size_t len)
{
    char base[512], link[800], target[64];
    int err = sm_vm_base_dir(base, sizeof base);
    if (err)
        return err;
    snprintf(link, sizeof link, "%s/names/%s", base, name_or_id);
    ssize_t n = strchr(name_or_id, '/') ? -1 : readlink(link, target, sizeof target - 1);
    if (n > 0) {
        target[n] = '\0';
        snprintf(dir, len, "%s/%s", base, target);
        return 0;
    }
    int found = find_by_prefix(base, name_or_id, dir, len);
    if (found == 1)
        return 0;
    if (found > 1)
        return sm_fail(EINVAL, "'%s' matches several VMs; give more of the id", name_or_id);
    return sm_fail(ENOENT, "no such VM: %s", name_or_id);
}

int sm_vm_alive(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int alive = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return alive;
}

int sm_vm_lock_take(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return sm_fail(err, "cannot lock %s: %s", path, strerror(err));
    }
    return fd;
}

int sm_vm_is_paused(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" SM_VM_PAUSED_NAME, dir);
    return sm_vm_alive(dir) && access(path, F_OK) == 0;
}

int sm_vm_exit_read(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/exit", dir);
    FILE *f = fopen(path, "r");
    int status = -1;
    if (f) {
        if (fscanf(f, "%d", &status) != 1)
            status = -1;
        fclose(f);
    }
    return status;
}

int sm_vm_exit_write(const char *dir, int status)
{
    char path[4200], text[16];
    snprintf(path, sizeof path, "%s/exit", dir);
    int n = snprintf(text, sizeof text, "%d\n", status);
    return sm_file_write_atomic(path, text, (size_t)n, 0600);
}

void sm_vm_forget(const char *dir)
{
    sm_vm_meta m;
    if (load_meta(dir, &m) == 0 && m.name[0])
        sm_vm_name_release(m.name);
    sm_vm_dir_remove(dir);
}
