/* spec.json: the record sm_vm_start_again starts a detached VM from (see
 * vm_spec.h). Strings are kept in the JSON itself, so decoding copies
 * only the arrays. */
#include "lib/vm_spec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"

#define SPEC_VERSION 1

enum { OWN_PORTS, OWN_SHARES, OWN_DISKS, OWN_TMPFS, OWN_ARGV, OWN_ENV, OWN_EP, OWN_CMD,
       OWN_GROUPS };

static json_t *str(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A later start may run in another directory than this one. */
static json_t *path(const char *p)
{
    char cwd[PATH_MAX], buf[PATH_MAX * 2];
    if (!p || p[0] == '/' || !getcwd(cwd, sizeof cwd))
        return str(p);
    snprintf(buf, sizeof buf, "%s/%s", cwd, p);
    return json_string(buf);
}

static json_t *strv(const char *const *v)
{
    if (!v)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *ports(const sm_vm_config *c)
{
    json_t *a = json_array();
    for (unsigned i = 0; c->ports && i < c->nports; i++)
        json_array_append_new(a, json_pack("{s:o,s:i,s:i,s:b}", "host_ip",
                                           str(c->ports[i].host_ip), "host_port",
                                           c->ports[i].host_port, "guest_port",
                                           c->ports[i].guest_port, "udp", c->ports[i].udp));
    return a;
}

static void add_mounts(json_t *o, const sm_vm_config *c)
{
    json_t *sh = json_array(), *dk = json_array(), *tf = json_array();
    for (unsigned i = 0; c->shares && i < c->nshares; i++)
        json_array_append_new(sh, json_pack("{s:o,s:o,s:b}", "host_path",
                                            path(c->shares[i].host_path), "guest_path",
                                            str(c->shares[i].guest_path), "read_only",
                                            c->shares[i].read_only));
    for (unsigned i = 0; c->disks && i < c->ndisks; i++)
        json_array_append_new(dk, json_pack("{s:o,s:b}", "path", path(c->disks[i].path),
                                            "read_only", c->disks[i].read_only));
    for (unsigned i = 0; c->tmpfs && i < c->ntmpfs; i++)
        json_array_append_new(tf, json_pack("{s:o,s:o}", "path", str(c->tmpfs[i].path), "options",
                                            str(c->tmpfs[i].options)));
    json_object_set_new(o, "shares", sh);
    json_object_set_new(o, "disks", dk);
    json_object_set_new(o, "tmpfs", tf);
}

static json_t *config(const sm_vm_config *c)
{
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:b,s:b,s:b,s:b}", "memory_mib", (json_int_t)c->memory_mib,
        "cpus", (json_int_t)c->cpus, "cpu_quota_milli", (json_int_t)c->cpu_quota_milli,
        "network", (json_int_t)c->network, "start_timeout_ms", (json_int_t)c->start_timeout_ms,
        "no_snapshot", c->no_snapshot, "run_image_process", c->run_image_process,
        "auto_remove", c->auto_remove, "read_only", c->read_only);
    json_object_set_new(o, "hostname", str(c->hostname));
    json_object_set_new(o, "upper_disk", path(c->upper_disk));
    json_object_set_new(o, "kernel", path(c->kernel));
    json_object_set_new(o, "initrd", path(c->initrd));
    json_object_set_new(o, "cmdline", str(c->cmdline));
    json_object_set_new(o, "root_dir", path(c->root_dir));
    json_object_set_new(o, "root_read_only", json_boolean(c->root_read_only));
    json_object_set_new(o, "ports", ports(c));
    json_object_set_new(o, "netns_path", path(c->netns_path));
    add_mounts(o, c);
    return o;
}

/* A container's settings: without them a start again would run the main
 * process in the VM's root, with the VM's umask and privileges. */
static void container_main(json_t *o, const sm_exec *m)
{
    json_t *groups = m->has_groups ? json_array() : json_null();
    for (unsigned i = 0; m->has_groups && i < m->ngroups; i++)
        json_array_append_new(groups, json_integer(m->groups[i]));
    json_object_set_new(o, "root", str(m->root));
    json_object_set_new(o, "umask", m->has_umask ? json_integer(m->umask) : json_null());
    json_object_set_new(o, "groups", groups);
    json_object_set_new(o, "no_new_privileges", json_boolean(m->no_new_privileges));
}

json_t *sm_vm_spec_encode_main(const sm_exec *m)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:b,s:I,s:I,s:b,s:b}", "uid", (json_int_t)m->uid,
                          "gid", (json_int_t)m->gid, "timeout_ms", (json_int_t)m->timeout_ms,
                          "pty", m->pty, "rows", (json_int_t)m->rows, "cols",
                          (json_int_t)m->cols, "from_image", m->from_image, "has_entrypoint",
                          m->has_entrypoint);
    json_object_set_new(o, "argv", strv(m->argv));
    json_object_set_new(o, "env", strv(m->env));
    json_object_set_new(o, "cwd", str(m->cwd));
    json_object_set_new(o, "user", str(m->user));
    json_object_set_new(o, "entrypoint", m->has_entrypoint ? strv(m->entrypoint) : json_null());
    json_object_set_new(o, "cmd", strv(m->cmd));
    container_main(o, m);
    return o;
}

json_t *sm_vm_spec_encode(const sm_vm_config *c, const sm_exec *main, const char *image,
                          const char *image_digest)
{
    json_t *o = json_pack("{s:i,s:s,s:s}", "version", SPEC_VERSION, "image",
                          image ? image : "", "image_digest", image_digest ? image_digest : "");
    if (!o)
        return NULL;
    json_object_set_new(o, "config", config(c));
    json_object_set_new(o, "main", main ? sm_vm_spec_encode_main(main) : json_null());
    return o;
}

/* ---- decoding ---- */

static const char *get_str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static uint32_t get_u32(json_t *o, const char *k)
{
    json_int_t v = json_integer_value(json_object_get(o, k));
    return v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

static int get_bool(json_t *o, const char *k)
{
    return json_is_true(json_object_get(o, k));
}

/* An array of n elements of `size` bytes, owned by s; NULL for none. */
static void *own(sm_vm_spec *s, int slot, size_t n, size_t size)
{
    s->owned[slot] = n ? calloc(n, size) : NULL;
    return s->owned[slot];
}

/* NULL for JSON null (the image's, or none); else NULL-terminated. */
static int get_strv(sm_vm_spec *s, int slot, json_t *a, const char *const **out)
{
    *out = NULL;
    if (!json_is_array(a))
        return 0;
    const char **v = own(s, slot, json_array_size(a) + 1, sizeof *v);
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!(v[i] = json_string_value(json_array_get(a, i))))
            return -EBADMSG;
    *out = v;
    return 0;
}

static int get_ports(sm_vm_spec *s, json_t *a)
{
    size_t n = json_array_size(a);
    sm_port *p = own(s, OWN_PORTS, n, sizeof *p);
    if (n && !p)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(a, i);
        p[i] = (sm_port){.host_ip = get_str(e, "host_ip"),
                         .host_port = (uint16_t)get_u32(e, "host_port"),
                         .guest_port = (uint16_t)get_u32(e, "guest_port"),
                         .udp = get_bool(e, "udp")};
    }
    s->config.ports = p, s->config.nports = (unsigned)n;
    return 0;
}

static int get_mounts(sm_vm_spec *s, json_t *c)
{
    json_t *sh = json_object_get(c, "shares"), *dk = json_object_get(c, "disks"),
           *tf = json_object_get(c, "tmpfs");
    size_t ns = json_array_size(sh), nd = json_array_size(dk), nt = json_array_size(tf);
    sm_share *shares = own(s, OWN_SHARES, ns, sizeof *shares);
    sm_disk *disks = own(s, OWN_DISKS, nd, sizeof *disks);
    sm_tmpfs *tmpfs = own(s, OWN_TMPFS, nt, sizeof *tmpfs);
    if ((ns && !shares) || (nd && !disks) || (nt && !tmpfs))
        return -ENOMEM;
    for (size_t i = 0; i < ns; i++) {
        json_t *e = json_array_get(sh, i);
        shares[i] = (sm_share){get_str(e, "host_path"), get_str(e, "guest_path"),
                               get_bool(e, "read_only")};
    }
    for (size_t i = 0; i < nd; i++)
        disks[i] = (sm_disk){get_str(json_array_get(dk, i), "path"),
                             get_bool(json_array_get(dk, i), "read_only")};
    for (size_t i = 0; i < nt; i++)
        tmpfs[i] = (sm_tmpfs){get_str(json_array_get(tf, i), "path"),
                              get_str(json_array_get(tf, i), "options")};
    s->config.shares = shares, s->config.nshares = (unsigned)ns;
    s->config.disks = disks, s->config.ndisks = (unsigned)nd;
    s->config.tmpfs = tmpfs, s->config.ntmpfs = (unsigned)nt;
    return 0;
}

static int get_config(sm_vm_spec *s, json_t *c)
{
    sm_vm_config *v = &s->config;
    *v = (sm_vm_config){.size = sizeof *v, .detached = 1};
    v->memory_mib = get_u32(c, "memory_mib");
    v->cpus = get_u32(c, "cpus");
    v->cpu_quota_milli = get_u32(c, "cpu_quota_milli");
    v->network = (sm_network)get_u32(c, "network");
    v->start_timeout_ms = get_u32(c, "start_timeout_ms");
    v->no_snapshot = get_bool(c, "no_snapshot");
    v->run_image_process = get_bool(c, "run_image_process");
    v->auto_remove = get_bool(c, "auto_remove");
    v->read_only = get_bool(c, "read_only");
    v->hostname = get_str(c, "hostname");
    v->upper_disk = get_str(c, "upper_disk");
    v->kernel = get_str(c, "kernel");
    v->initrd = get_str(c, "initrd");
    v->cmdline = get_str(c, "cmdline");
    v->root_dir = get_str(c, "root_dir");
    v->root_read_only = get_bool(c, "root_read_only");
    v->netns_path = get_str(c, "netns_path");
    int err = get_ports(s, json_object_get(c, "ports"));
    return err ? err : get_mounts(s, c);
}

static int get_container_main(sm_vm_spec *s, json_t *m)
{
    sm_exec *e = &s->main;
    json_t *groups = json_object_get(m, "groups");
    e->root = get_str(m, "root");
    json_t *umask = json_object_get(m, "umask");
    json_int_t u = json_integer_value(umask);
    if (json_is_integer(umask) && (u < 0 || u > 0777))
        return -EBADMSG;
    e->has_umask = json_is_integer(umask);
    e->umask = (uint32_t)u;
    e->no_new_privileges = get_bool(m, "no_new_privileges");
    e->has_groups = json_is_array(groups);
    e->ngroups = (unsigned)json_array_size(groups);
    uint32_t *g = own(s, OWN_GROUPS, e->ngroups, sizeof *g);
    if (e->ngroups && !g)
        return -ENOMEM;
    for (unsigned i = 0; i < e->ngroups; i++) {
        json_int_t v = json_integer_value(json_array_get(groups, i));
        if (!json_is_integer(json_array_get(groups, i)) || v < 0 || v > UINT32_MAX)
            return -EBADMSG;
        g[i] = (uint32_t)v;
    }
    e->groups = g;
    return 0;
}

static int get_main(sm_vm_spec *s, json_t *m)
{
    sm_exec *e = &s->main;
    *e = (sm_exec){.size = sizeof *e};
    s->has_main = json_is_object(m);
    if (!s->has_main)
        return 0;
    e->uid = get_u32(m, "uid"), e->gid = get_u32(m, "gid");
    e->timeout_ms = get_u32(m, "timeout_ms");
    e->pty = get_bool(m, "pty");
    e->rows = (uint16_t)get_u32(m, "rows"), e->cols = (uint16_t)get_u32(m, "cols");
    e->from_image = get_bool(m, "from_image");
    e->has_entrypoint = get_bool(m, "has_entrypoint");
    e->cwd = get_str(m, "cwd");
    e->user = get_str(m, "user");
    int err = get_strv(s, OWN_ARGV, json_object_get(m, "argv"), &e->argv);
    if (!err)
        err = get_strv(s, OWN_ENV, json_object_get(m, "env"), &e->env);
    if (!err)
        err = get_strv(s, OWN_EP, json_object_get(m, "entrypoint"), &e->entrypoint);
    if (!err)
        err = get_strv(s, OWN_CMD, json_object_get(m, "cmd"), &e->cmd);
    return err ? err : get_container_main(s, m);
}

int sm_vm_spec_decode(json_t *o, sm_vm_spec *out)
{
    memset(out, 0, sizeof *out);
    json_t *c = json_object_get(o, "config");
    if (!json_is_object(o) || json_integer_value(json_object_get(o, "version")) != SPEC_VERSION ||
        !json_is_object(c))
        return -EBADMSG;
    out->json = json_incref(o);
    out->image = get_str(o, "image");
    out->image_digest = get_str(o, "image_digest");
    if (!out->image)
        out->image = "";
    /* An image to open, or a root directory to boot from. */
    int err = get_config(out, c);
    if (!err && !(out->image_digest && *out->image_digest) && !out->config.root_dir)
        err = -EBADMSG;
    if (!err)
        err = get_main(out, json_object_get(o, "main"));
    if (err)
        sm_vm_spec_free(out);
    return err;
}

void sm_vm_spec_free(sm_vm_spec *s)
{
    for (size_t i = 0; i < sizeof s->owned / sizeof s->owned[0]; i++)
        free(s->owned[i]);
    json_decref(s->json);
    memset(s, 0, sizeof *s);
}

/* ---- the file ---- */

int sm_vm_spec_write(const char *dir, json_t *o)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/" SM_VM_SPEC_NAME, dir);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    int err = text ? sm_file_write_atomic(p, text, strlen(text), 0600)
                   : sm_fail(ENOMEM, "out of memory");
    free(text);
    return err;
}

static json_t *load(const char *dir)
{
    char p[4200];
    json_error_t e;
    snprintf(p, sizeof p, "%s/" SM_VM_SPEC_NAME, dir);
    return access(p, F_OK) == 0 ? json_load_file(p, 0, &e) : NULL;
}

int sm_vm_spec_read(const char *dir, sm_vm_spec *out)
{
    json_t *o = load(dir);
    if (!o)
        return -ENOENT;
    int err = sm_vm_spec_decode(o, out);
    json_decref(o);
    return err ? sm_fail(err, "%s/" SM_VM_SPEC_NAME " is damaged: remove the VM and create "
                         "it again", dir)
               : 0;
}

int sm_vm_spec_set_main(const char *dir, const sm_exec *main)
{
    json_t *o = load(dir);
    if (!o)
        return 0;  /* a VM that cannot be started again */
    json_object_set_new(o, "main", sm_vm_spec_encode_main(main));
    int err = sm_vm_spec_write(dir, o);
    json_decref(o);
    return err;
}
