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
                    .auto_remove = c->auto_remove};
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
void sm_vm_record_command(const sm_vm *vm, const char *const *argv)
{
    sm_vm_meta m;
    if (sm_vm_meta_read(vm->dir, &m) != 0)
        return;
    size_t used = 0;
    m.command[0] = '\0';
    for (size_t i = 0; argv && argv[i] && used + 1 < sizeof m.command; i++) {
        int quote = strpbrk(argv[i], " \t'\"$") != NULL || !*argv[i];
        int n = snprintf(m.command + used, sizeof m.command - used, "%s%s%s%s", i ? " " : "",
                         quote ? "\"" : "", argv[i], quote ? "\"" : "");
        used += n > 0 ? (size_t)n : 0;
    }
    sm_vm_meta_write(vm->dir, &m);
}
