#include "oci-runtime/spec.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct why {
    char *buf;
    size_t len;
} why;

static int refuse(why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(why *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->buf, w->len, fmt, ap);
    va_end(ap);
    return -1;
}

/* A NULL-terminated copy of an array of strings; absent is NULL. */
static int strings(json_t *arr, const char *field, const char ***out, why *w)
{
    *out = NULL;
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return refuse(w, "%s must be an array of strings", field);
    size_t n = json_array_size(arr);
    const char **v = calloc(n + 1, sizeof *v);
    if (!v)
        return refuse(w, "out of memory");
    for (size_t i = 0; i < n; i++) {
        v[i] = json_string_value(json_array_get(arr, i));
        if (!v[i]) {
            free(v);
            return refuse(w, "%s[%zu] must be a string", field, i);
        }
    }
    *out = v;
    return 0;
}

static int opt_string(json_t *o, const char *key, const char *field, const char **out, why *w)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return refuse(w, "%s must be a string", field);
    *out = json_string_value(v);
    return 0;
}

static int opt_u32(json_t *o, const char *key, const char *field, uint32_t *out, why *w)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > (json_int_t)UINT32_MAX)
        return refuse(w, "%s must be a number from 0 to %u", field, UINT32_MAX);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int user_of(json_t *u, sm_oci_process *p, why *w)
{
    if (!u)
        return 0;
    if (!json_is_object(u))
        return refuse(w, "process.user must be an object");
    if (opt_u32(u, "uid", "process.user.uid", &p->uid, w) ||
        opt_u32(u, "gid", "process.user.gid", &p->gid, w))
        return -1;
    json_t *um = json_object_get(u, "umask");
    if (um && (!json_is_integer(um) || json_integer_value(um) < 0 ||
               json_integer_value(um) > 0777))
        return refuse(w, "process.user.umask must be a mode from 0 to 0777");
    p->umask = um ? (int)json_integer_value(um) : -1;
    json_t *g = json_object_get(u, "additionalGids");
    if (g && !json_is_array(g))
        return refuse(w, "process.user.additionalGids must be an array of numbers");
    size_t i;
    json_t *e;
    json_array_foreach(g, i, e) {
        if (p->ngids == sizeof p->gids / sizeof p->gids[0])
            return refuse(w, "process.user.additionalGids: at most %zu groups",
                          sizeof p->gids / sizeof p->gids[0]);
        if (!json_is_integer(e) || json_integer_value(e) < 0 ||
            json_integer_value(e) > (json_int_t)UINT32_MAX)
            return refuse(w, "process.user.additionalGids[%zu] must be a group id", i);
        p->gids[p->ngids++] = (uint32_t)json_integer_value(e);
    }
    return 0;
}

static int console_size(json_t *c, sm_oci_process *p, why *w)
{
    uint32_t h = 0, wd = 0;
    if (!c)
        return 0;
    if (opt_u32(c, "height", "process.consoleSize.height", &h, w) ||
        opt_u32(c, "width", "process.consoleSize.width", &wd, w))
        return -1;
    p->rows = h > 0xffff ? 0xffff : (uint16_t)h;
    p->cols = wd > 0xffff ? 0xffff : (uint16_t)wd;
    return 0;
}

static int process_of(json_t *o, sm_oci_process *p, why *w)
{
    memset(p, 0, sizeof *p);
    p->umask = -1;
    if (!json_is_object(o))
        return refuse(w, "process must be an object");
    json_t *t = json_object_get(o, "terminal");
    p->terminal = json_is_true(t);
    if (strings(json_object_get(o, "args"), "process.args", &p->args, w) ||
        strings(json_object_get(o, "env"), "process.env", &p->env, w))
        return -1;
    if (!p->args || !p->args[0] || !p->args[0][0])
        return refuse(w, "process.args must name the program to run (it is %s)",
                      p->args ? "empty" : "missing");
    if (opt_string(o, "cwd", "process.cwd", &p->cwd, w))
        return -1;
    if (!p->cwd || p->cwd[0] != '/')
        return refuse(w, "process.cwd must be an absolute path (it is '%s')",
                      p->cwd ? p->cwd : "missing");
    p->no_new_privileges = json_is_true(json_object_get(o, "noNewPrivileges"));
    return user_of(json_object_get(o, "user"), p, w) ||
           console_size(json_object_get(o, "consoleSize"), p, w);
}

void sm_oci_process_free(sm_oci_process *p)
{
    free(p->args);
    free(p->env);
    p->args = p->env = NULL;
}

/* "1.x.y" only: a major version we do not know may mean anything. */
static int version_of(json_t *doc, sm_oci_spec *s, why *w)
{
    s->version = json_string_value(json_object_get(doc, "ociVersion"));
    if (!s->version)
        return refuse(w, "ociVersion is missing: config.json must say which OCI runtime "
                      "spec it follows (1.x)");
    if (strncmp(s->version, "1.", 2) != 0)
        return refuse(w, "ociVersion %s is not supported: supermachine-oci runs bundles of "
                      "the OCI runtime spec 1.x", s->version);
    return 0;
}

static int root_of(json_t *doc, const char *bundle, sm_oci_spec *s, why *w)
{
    json_t *r = json_object_get(doc, "root");
    const char *path = json_string_value(json_object_get(r, "path"));
    if (!path || !*path)
        return refuse(w, "root.path is missing: config.json must name the container's root "
                      "directory");
    s->root_readonly = json_is_true(json_object_get(r, "readonly"));
    int n = path[0] == '/' ? snprintf(s->root_path, sizeof s->root_path, "%s", path)
                           : snprintf(s->root_path, sizeof s->root_path, "%s/%s", bundle, path);
    if (n < 0 || (size_t)n >= sizeof s->root_path)
        return refuse(w, "root.path is too long");
    struct stat st;
    if (stat(s->root_path, &st) < 0)
        return refuse(w, "root.path %s: %s", s->root_path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return refuse(w, "root.path %s is not a directory", s->root_path);
    return 0;
}

static int mounts_of(json_t *arr, sm_oci_spec *s, why *w)
{
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return refuse(w, "mounts must be an array");
    s->mounts = calloc(json_array_size(arr) + 1, sizeof *s->mounts);
    if (!s->mounts)
        return refuse(w, "out of memory");
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        sm_oci_mount *o = &s->mounts[s->nmounts++];
        char field[64];
        snprintf(field, sizeof field, "mounts[%zu].options", i);
        if (!json_is_object(m))
            return refuse(w, "mounts[%zu] must be an object", i);
        o->destination = json_string_value(json_object_get(m, "destination"));
        if (!o->destination || o->destination[0] != '/')
            return refuse(w, "mounts[%zu].destination must be an absolute path", i);
        if (opt_string(m, "type", "mounts[].type", &o->type, w) ||
            opt_string(m, "source", "mounts[].source", &o->source, w) ||
            strings(json_object_get(m, "options"), field, &o->options, w))
            return -1;
    }
    return 0;
}

static int hooks_of(json_t *h, sm_oci_spec *s, why *w)
{
    static const char *const names[SM_OCI_HOOK_KINDS] = {"prestart", "createRuntime",
                                                         "poststart", "poststop"};
    for (int k = 0; h && k < SM_OCI_HOOK_KINDS; k++) {
        json_t *arr = json_object_get(h, names[k]);
        if (!arr)
            continue;
        if (!json_is_array(arr))
            return refuse(w, "hooks.%s must be an array", names[k]);
        sm_oci_hooks *hs = &s->hooks[k];
        hs->v = calloc(json_array_size(arr) + 1, sizeof *hs->v);
        if (!hs->v)
            return refuse(w, "out of memory");
        size_t i;
        json_t *e;
        json_array_foreach(arr, i, e) {
            sm_oci_hook *o = &hs->v[hs->n++];
            char field[64];
            o->path = json_string_value(json_object_get(e, "path"));
            if (!o->path || o->path[0] != '/')
                return refuse(w, "hooks.%s[%zu].path must be an absolute path", names[k], i);
            snprintf(field, sizeof field, "hooks.%s[%zu].args", names[k], i);
            if (strings(json_object_get(e, "args"), field, &o->args, w))
                return -1;
            snprintf(field, sizeof field, "hooks.%s[%zu].env", names[k], i);
            if (strings(json_object_get(e, "env"), field, &o->env, w))
                return -1;
            json_t *t = json_object_get(e, "timeout");
            if (t && (!json_is_integer(t) || json_integer_value(t) <= 0))
                return refuse(w, "hooks.%s[%zu].timeout must be a positive number", names[k],
                              i);
            o->timeout_s = t ? (int)json_integer_value(t) : 0;
        }
    }
    return 0;
}

static int resources_of(json_t *r, sm_oci_spec *s, why *w)
{
    json_t *mem = json_object_get(json_object_get(r, "memory"), "limit");
    if (mem && !json_is_null(mem)) {
        if (!json_is_integer(mem))
            return refuse(w, "linux.resources.memory.limit must be a number of bytes");
        s->memory_limit = json_integer_value(mem) > 0 ? (uint64_t)json_integer_value(mem) : 0;
    }
    json_t *cpu = json_object_get(r, "cpu");
    json_t *q = json_object_get(cpu, "quota"), *p = json_object_get(cpu, "period");
    if ((q && !json_is_null(q) && !json_is_integer(q)) ||
        (p && !json_is_null(p) && !json_is_integer(p)))
        return refuse(w, "linux.resources.cpu.quota and period must be numbers");
    s->cpu_quota = json_is_integer(q) && json_integer_value(q) > 0 ? json_integer_value(q) : 0;
    s->cpu_period = json_is_integer(p) && json_integer_value(p) > 0
                        ? (uint64_t)json_integer_value(p) : 100000;
    return 0;
}

static int namespaces_of(json_t *arr, sm_oci_spec *s, why *w)
{
    size_t i;
    json_t *n;
    if (arr && !json_is_array(arr))
        return refuse(w, "linux.namespaces must be an array");
    json_array_foreach(arr, i, n) {
        const char *type = json_string_value(json_object_get(n, "type"));
        if (!type)
            return refuse(w, "linux.namespaces[%zu].type is missing", i);
        if (strcmp(type, "network") != 0)
            continue;
        s->has_netns = true;
        if (opt_string(n, "path", "linux.namespaces[].path", &s->netns_path, w))
            return -1;
    }
    return 0;
}

static int parse(const char *bundle, sm_oci_spec *s, why *w)
{
    json_t *doc = s->doc;
    if (!json_is_object(doc))
        return refuse(w, "config.json must hold a JSON object");
    if (version_of(doc, s, w) || root_of(doc, bundle, s, w))
        return -1;
    json_t *proc = json_object_get(doc, "process");
    if (!proc)
        return refuse(w, "process is missing: config.json must say what to run");
    if (process_of(proc, &s->process, w) ||
        opt_string(doc, "hostname", "hostname", &s->hostname, w) ||
        mounts_of(json_object_get(doc, "mounts"), s, w) ||
        hooks_of(json_object_get(doc, "hooks"), s, w))
        return -1;
    json_t *lx = json_object_get(doc, "linux");
    if (resources_of(json_object_get(lx, "resources"), s, w) ||
        namespaces_of(json_object_get(lx, "namespaces"), s, w))
        return -1;
    s->annotations = json_object_get(doc, "annotations");
    if (s->annotations && !json_is_object(s->annotations))
        return refuse(w, "annotations must be an object of strings");
    return 0;
}

int sm_oci_spec_load(const char *bundle, sm_oci_spec *s, char *err, size_t errlen)
{
    why w = {err, errlen};
    char path[4200];
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s/config.json", bundle);
    struct stat st;
    if (stat(bundle, &st) < 0 || !S_ISDIR(st.st_mode))
        return refuse(&w, "bundle %s is not a directory", bundle);
    json_error_t je;
    s->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!s->doc)
        return access(path, F_OK) < 0
                   ? refuse(&w, "%s: %s (a bundle holds config.json)", path, strerror(errno))
                   : refuse(&w, "%s is not valid JSON: line %d: %s", path, je.line, je.text);
    int rc = parse(bundle, s, &w);
    if (rc < 0 && strncmp(err, "config.json", 11) != 0) {
        char field[1024];
        snprintf(field, sizeof field, "%s", err);
        snprintf(err, errlen, "config.json: %s", field);
    }
    return rc;
}

void sm_oci_spec_free(sm_oci_spec *s)
{
    sm_oci_process_free(&s->process);
    for (size_t i = 0; i < s->nmounts; i++)
        free(s->mounts[i].options);
    free(s->mounts);
    for (int k = 0; k < SM_OCI_HOOK_KINDS; k++) {
        for (size_t i = 0; i < s->hooks[k].n; i++) {
            free(s->hooks[k].v[i].args);
            free(s->hooks[k].v[i].env);
        }
        free(s->hooks[k].v);
    }
    json_decref(s->doc);
    memset(s, 0, sizeof *s);
}

int sm_oci_process_load(const char *path, json_t **doc, sm_oci_process *p, char *err,
                        size_t errlen)
{
    why w = {err, errlen};
    json_error_t je;
    *doc = json_load_file(path, 0, &je);
    if (!*doc)
        return refuse(&w, "%s: %s", path, je.text);
    if (process_of(*doc, p, &w) == 0)
        return 0;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", err);
    snprintf(err, errlen, "%s: %s", path, msg);
    sm_oci_process_free(p);
    json_decref(*doc);
    *doc = NULL;
    return -1;
}

const char *sm_oci_annotation(const sm_oci_spec *s, const char *key)
{
    return json_string_value(json_object_get(s->annotations, key));
}
