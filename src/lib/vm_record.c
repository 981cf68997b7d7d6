/* What the registry records of a VM when it starts: its name and
 * meta.json, for `ps` and for handles opened by other processes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/vm_int.h"
#include "lib/vm_record.h"
#include "lib/vm_registry.h"
#include "lib/vm_spec.h"
#include "util/error.h"

/* "SIGQUIT", "QUIT" or "3", as images write StopSignal; 0 if unknown. */
SM_API int sm_signal_parse(const char *s)
{
    static const struct { const char *name; int sig; } names[] = {
        {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
        {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"WINCH", SIGWINCH},
        {"PWR", SIGPWR}, {"STOP", SIGSTOP}, {"CONT", SIGCONT},
    };
    if (!s || !*s)
        return 0;
    char *end;
    long n = strtol(s, &end, 10);
    if (!*end)
        return n > 0 && n <= 64 ? (int)n : 0;
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name))
            return names[i].sig;
    return 0;
}

static void format_ports(const sm_vm_config *c, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < c->nports && used < len; i++) {
        const sm_port *p = &c->ports[i];
        int n = snprintf(out + used, len - used, "%s%s:%u->%u/%s", i ? ", " : "",
                         p->host_ip ? p->host_ip : "127.0.0.1", p->host_port, p->guest_port,
                         p->udp ? "udp" : "tcp");
        used += n > 0 ? (size_t)n : 0;
    }
}

int sm_vm_record(sm_vm *vm, const sm_vm_config *c)
{
    sm_vm_meta m = {.created = time(NULL), .detached = c->detached,
                    .auto_remove = c->auto_remove, .root_dir = vm->root_dir};
    snprintf(m.id, sizeof m.id, "%s", vm->id);
    snprintf(m.hostname, sizeof m.hostname, "%s", vm->hostname);
    if (vm->image) {
        snprintf(m.image, sizeof m.image, "%s",
                 vm->image->name[0] ? vm->image->name : vm->image->digest);
        snprintf(m.image_digest, sizeof m.image_digest, "%s", vm->image->digest);
        m.stop_signal = sm_signal_parse(vm->image->stop_signal);
    }
    format_ports(c, m.ports, sizeof m.ports);
    if (c->name) {
        int err = sm_vm_name_claim(c->name, vm->dir + strlen(vm->dir) - SM_VM_SHORT_ID);
        if (err)
            return err;
        snprintf(m.name, sizeof m.name, "%s", c->name);
    }
    int err = sm_vm_meta_write(vm->dir, &m);
    if (err && c->name)
        sm_vm_name_release(c->name);
    return err;
}

/* A shell-like rendering of argv for `ps`. */
static void quote_argv(const char *const *argv, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; argv && argv[i] && used + 1 < len; i++) {
        int quote = strpbrk(argv[i], " \t'\"$") != NULL || !*argv[i];
        int n = snprintf(out + used, len - used, "%s%s%s%s", i ? " " : "",
                         quote ? "\"" : "", argv[i], quote ? "\"" : "");
        used += n > 0 ? (size_t)n : 0;
    }
}

void sm_vm_record_command(const sm_vm *vm, const char *const *argv)
{
    sm_vm_meta m;
    if (sm_vm_meta_read(vm->dir, &m) != 0)
        return;
    quote_argv(argv, m.command, sizeof m.command);
    sm_vm_meta_write(vm->dir, &m);
}

int sm_vm_record_again(sm_vm *vm)
{
    sm_vm_meta m;
    int err = sm_vm_meta_read(vm->dir, &m);
    if (err)
        return err;
    m.never_started = 0;
    snprintf(m.hostname, sizeof m.hostname, "%s", vm->hostname);
    return sm_vm_meta_write(vm->dir, &m);
}

int sm_vm_record_spec(const char *dir, const sm_image *image, const sm_vm_config *c,
                      const sm_exec *main)
{
    /* A VM from a root directory has no image: the directory is in c. */
    const sm_image_info *info = image ? sm_image_get_info(image) : NULL;
    json_t *o = sm_vm_spec_encode(c, main, info ? info->name : NULL, info ? info->digest : NULL);
    int err = sm_vm_spec_write(dir, o);
    json_decref(o);
    return err;
}

static size_t count(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

/* What the main process will run, for `ps` before it does: argv, else
 * the entrypoint and cmd as the start will pick them (exec_spec.c). */
static void created_command(const sm_image_info *img, const sm_exec *ex, char *out,
                            size_t len)
{
    const char *words[130] = {0};
    const char *const *ep = NULL, *const *cmd = ex ? ex->argv : NULL;
    if (ex && !ex->argv && !ex->from_image)
        cmd = NULL;
    else if (!ex || !ex->argv) {
        int has_ep = ex && ex->has_entrypoint;
        ep = has_ep ? ex->entrypoint : (const char *const *)img->entrypoint;
        cmd = ex && ex->cmd ? ex->cmd : has_ep ? NULL : (const char *const *)img->cmd;
    }
    size_t n = 0;
    for (size_t i = 0; i < count(ep) && n < 64; i++)
        words[n++] = ep[i];
    for (size_t i = 0; i < count(cmd) && n < 128; i++)
        words[n++] = cmd[i];
    quote_argv(words, out, len);
}

int sm_vm_record_created(const char *dir, const char *id, const sm_image *image,
                         const sm_vm_config *c, const sm_exec *main)
{
    const sm_image_info *info = sm_image_get_info(image);
    sm_vm_meta m = {.created = time(NULL), .detached = 1, .auto_remove = c->auto_remove,
                    .never_started = 1, .stop_signal = sm_signal_parse(info->stop_signal)};
    snprintf(m.id, sizeof m.id, "%s", id);
    if (c->hostname)
        snprintf(m.hostname, sizeof m.hostname, "%s", c->hostname);
    else
        snprintf(m.hostname, sizeof m.hostname, "%.12s", id);
    snprintf(m.image, sizeof m.image, "%s", info->name[0] ? info->name : info->digest);
    snprintf(m.image_digest, sizeof m.image_digest, "%s", info->digest);
    format_ports(c, m.ports, sizeof m.ports);
    created_command(info, main, m.command, sizeof m.command);
    if (c->name) {
        int err = sm_vm_name_claim(c->name, dir + strlen(dir) - SM_VM_SHORT_ID);
        if (err)
            return err;
        snprintf(m.name, sizeof m.name, "%s", c->name);
    }
    int err = sm_vm_meta_write(dir, &m);
    if (err && c->name)
        sm_vm_name_release(c->name);
    return err;
}
