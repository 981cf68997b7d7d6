/* Docker's rules for what a container process runs: Entrypoint + Cmd,
 * Env merged by name, WorkingDir, User resolved in the container's own
 * /etc/passwd and /etc/group. */
#include "lib/exec_spec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_ETC_FILE (4u << 20)

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static size_t name_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

static char **env_find(char **env, size_t n, const char *kv)
{
    size_t len = name_len(kv);
    for (size_t i = 0; i < n; i++)
        if (name_len(env[i]) == len && strncmp(env[i], kv, len) == 0)
            return &env[i];
    return NULL;
}

static void free_list(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

char **sm_env_merge(const char *const *base, const char *const *over)
{
    size_t n = 0, cap = count(base) + count(over) + 1;
    char **env = calloc(cap, sizeof *env);
    const char *const *lists[2] = {base, over};
    for (int l = 0; env && l < 2; l++) {
        for (size_t i = 0; lists[l] && lists[l][i]; i++) {
            char *copy = strdup(lists[l][i]);
            if (!copy) {
                free_list(env);
                return NULL;
            }
            char **slot = env_find(env, n, copy);
            if (slot) {
                free(*slot);
                *slot = copy;
            } else {
                env[n++] = copy;
            }
        }
    }
    return env;
}

static int concat(const char *const *a, const char *const *b, char ***out)
{
    size_t na = count(a), nb = count(b);
    char **v = calloc(na + nb + 1, sizeof *v);
    if (!v)
        return sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; i < na + nb; i++)
        if (!(v[i] = strdup(i < na ? a[i] : b[i - na]))) {
            free_list(v);
            return sm_fail(ENOMEM, "out of memory");
        }
    *out = v;
    return 0;
}

/* argv given: exactly that (docker exec); else Entrypoint + Cmd, where a
 * replaced entrypoint also drops the image's Cmd, as docker does. A root
 * directory's VM (img NULL) has only what ex gives. */
static int pick_argv(const sm_image_info *img, const sm_exec *ex, char ***out)
{
    if (ex->argv || !ex->from_image)
        return concat(ex->argv, NULL, out);
    const char *const *ep = ex->has_entrypoint ? ex->entrypoint
                            : img ? (const char *const *)img->entrypoint : NULL;
    const char *const *cmd = ex->cmd ? ex->cmd
                             : ex->has_entrypoint || !img ? NULL : (const char *const *)img->cmd;
    if (count(ep) + count(cmd) == 0 && !img)
        return sm_fail(EINVAL, "no command: a VM from a root directory has no image to take "
                       "one from; give one");
    if (count(ep) + count(cmd) == 0)
        return sm_fail(EINVAL, "no command: the image %s has neither Entrypoint nor Cmd; "
                       "give one", img->name[0] ? img->name : img->digest);
    return concat(ep, cmd, out);
}

static char *read_etc(sm_agent_conn *c, const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (sm_agent_read_file_buf(c, path, MAX_ETC_FILE, &data, &len) != 0)
        return NULL;
    return (char *)data;
}

/* In the root the command runs in: a container's users are its own. */
static int resolve_user(sm_agent_conn *c, const char *root, const char *user, sm_oci_user *out)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/etc/passwd", root ? root : "");
    char *passwd = read_etc(c, path);
    snprintf(path, sizeof path, "%s/etc/group", root ? root : "");
    char *group = read_etc(c, path);
    int err = sm_oci_user_resolve(user, passwd, group, out);
    free(passwd);
    free(group);
    return err;
}

static int build_env(const sm_vm *vm, const sm_exec_spec *s, const sm_exec *ex, int tty,
                     char ***out)
{
    char hostname[96], home[300];
    snprintf(hostname, sizeof hostname, "HOSTNAME=%s", vm->hostname);
    snprintf(home, sizeof home, "HOME=%s", s->has_user ? s->user.home : "/root");
    const char *defaults[] = {DEFAULT_PATH, hostname, tty ? "TERM=xterm" : NULL, NULL};
    const sm_image_info *img = vm->image;
    char **base = sm_env_merge(defaults, img ? (const char *const *)img->env : NULL);
    char **env = base ? sm_env_merge((const char *const *)base, ex->env) : NULL;
    free_list(base);
    if (!env)
        return sm_fail(ENOMEM, "out of memory");
    size_t n = count((const char *const *)env);
    if (!env_find(env, n, "HOME=")) {
        char **more = realloc(env, (n + 2) * sizeof *env);
        if (!more || !(more[n] = strdup(home))) {
            free_list(more ? more : env);
            return sm_fail(ENOMEM, "out of memory");
        }
        more[n + 1] = NULL;
        env = more;
    }
    *out = env;
    return 0;
}

/* The container fields, which the agent would refuse as a malformed
 * request (closing the connection, with a vaguer sentence). */
static int check_container(const sm_exec *ex)
{
    if (ex->root && ex->root[0] != '/')
        return sm_fail(EINVAL, "exec: root %.100s is not an absolute guest path", ex->root);
    if (ex->has_umask && ex->umask > 0777)
        return sm_fail(EINVAL, "exec: umask %#o has bits beyond 0777", ex->umask);
    if (ex->has_groups && ex->ngroups && !ex->groups)
        return sm_fail(EINVAL, "exec: ngroups is %u but groups is NULL", ex->ngroups);
    return 0;
}

int sm_exec_spec_build(const sm_vm *vm, sm_agent_conn *c, const sm_exec *ex, int tty,
                       sm_exec_spec *out)
{
    memset(out, 0, sizeof *out);
    int bad = check_container(ex);
    if (bad)
        return bad;
    const sm_image_info *img = ex->from_image ? vm->image : NULL;
    /* A root directory's VM is a container whose image config is empty. */
    bool container = img || (ex->from_image && vm->root_dir);
    if (ex->from_image && !container)
        return sm_fail(EINVAL, "from_image: this VM was not started from an image");
    const char *user = ex->user ? ex->user : img ? img->user : NULL;
    int err = pick_argv(img, ex, &out->argv);
    /* From an image, root too is looked up: its supplementary groups come
     * from the image's /etc/group, as runc sets them. */
    if (!err && ((user && *user) || container)) {
        out->has_user = 1;
        err = resolve_user(c, ex->root, user, &out->user);
    }
    if (!err && (container || out->has_user))
        err = build_env(vm, out, ex, tty, &out->env);
    else if (!err && ex->env)
        out->env = sm_env_merge(ex->env, NULL);
    out->cwd = ex->cwd ? ex->cwd : img && img->working_dir && *img->working_dir
                                       ? img->working_dir : NULL;
    /* docker creates the working directory of a container's process, but
     * not of a docker exec: argv given means exec. */
    out->mkcwd = container && !ex->argv;
    if (err)
        sm_exec_spec_free(out);
    return err;
}

sm_agent_exec_req sm_exec_spec_request(const sm_exec *ex, const sm_exec_spec *s)
{
    bool as_root = ex->uid == 0 && ex->gid == 0;
    sm_agent_exec_req r = {
        .argv = (const char *const *)s->argv, .env = (const char *const *)s->env,
        .cwd = s->cwd, .uid = as_root ? -1 : (int64_t)ex->uid,
        .gid = as_root ? -1 : (int64_t)ex->gid, .timeout_ms = ex->timeout_ms,
        .pty = ex->pty, .rows = ex->rows, .cols = ex->cols, .mkcwd = s->mkcwd,
        .stdin_pipe = ex->stdin_data || ex->has_stdin_fd || ex->stdin_stream,
        .root = ex->root, .has_umask = ex->has_umask, .umask = ex->umask,
        .no_new_privs = ex->no_new_privileges};
    if (s->has_user) {
        r.uid = s->user.uid;
        r.gid = s->user.gid;
        r.groups = s->user.groups;
        r.ngroups = s->user.group_count;
        r.has_groups = true;
    }
    /* OCI's additionalGids are the whole list, whatever user's are. */
    if (ex->has_groups) {
        r.groups = ex->groups;
        r.ngroups = ex->ngroups;
        r.has_groups = true;
    }
    return r;
}

void sm_exec_spec_free(sm_exec_spec *s)
{
    free_list(s->argv);
    free_list(s->env);
    memset(s, 0, sizeof *s);
}
