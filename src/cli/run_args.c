/* Parsing run's repeatable options: -e, --env-file, -p, -v. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/run.h"

/* The command whose options these are, for its messages. */
static const char *verb(const sm_run_opts *o)
{
    return o->verb ? o->verb : "run";
}

#define ENV_MAX (sizeof ((sm_run_opts *)0)->env / sizeof(char *) - 1)

/* Entries from --env-file go before every -e, wherever the options
 * stand, so that -e wins as in docker. */
static int add_env_at(sm_run_opts *o, const char *arg, int from_file)
{
    if (!*arg || *arg == '=')
        return sm_cli_usage_error(verb(o), "-e wants NAME=value or NAME, not '%s'", arg);
    char *kv;
    if (strchr(arg, '=')) {
        kv = strdup(arg);
    } else {
        const char *v = getenv(arg);
        if (!v)
            return 0;
        size_t n = strlen(arg) + strlen(v) + 2;
        if ((kv = malloc(n)) != NULL)
            snprintf(kv, n, "%s=%s", arg, v);
    }
    if (!kv || o->nenv == ENV_MAX) {
        free(kv);
        return sm_cli_usage_error(verb(o), "too many environment variables (at most %zu)",
                                  ENV_MAX);
    }
    size_t at = from_file ? o->nfile_env++ : o->nenv;
    memmove(&o->env[at + 1], &o->env[at], (o->nenv - at) * sizeof o->env[0]);
    o->env[at] = kv;
    o->nenv++;
    return 0;
}

int sm_run_add_env(sm_run_opts *o, const char *arg)
{
    return add_env_at(o, arg, 0);
}

int sm_run_add_env_file(sm_run_opts *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sm_cli_usage_error(verb(o), "cannot read --env-file %s: %s", path, strerror(errno));
    char line[8192];
    int err = 0;
    while (!err && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *p = line + strspn(line, " \t");
        if (*p && *p != '#')
            err = add_env_at(o, p, 1);
    }
    fclose(f);
    return err;
}

static int port_number(const char *s, uint16_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int sm_run_add_port(sm_run_opts *o, char *arg)
{
    if (o->nports == SM_RUN_MAX_LIST)
        return sm_cli_usage_error(verb(o), "at most %d published ports", SM_RUN_MAX_LIST);
    sm_port *p = &o->ports[o->nports];
    *p = (sm_port){0};
    char *proto = strrchr(arg, '/');
    if (proto) {
        *proto++ = '\0';
        if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
            return sm_cli_usage_error(verb(o), "-p: protocol '%s' is neither tcp nor udp", proto);
        p->udp = !strcmp(proto, "udp");
    }
    char *guest = strrchr(arg, ':');
    if (!guest)
        return sm_cli_usage_error(verb(o), "-p wants [IP:]HOSTPORT:GUESTPORT, not '%s'", arg);
    *guest++ = '\0';
    char *host = strrchr(arg, ':');
    if (host) {
        *host++ = '\0';
        p->host_ip = arg;
    } else {
        host = arg;
    }
    if (port_number(host, &p->host_port) || port_number(guest, &p->guest_port))
        return sm_cli_usage_error(verb(o), "-p: ports are numbers from 1 to 65535");
    o->nports++;
    return 0;
}

int sm_run_add_share(sm_run_opts *o, char *arg)
{
    if (o->nshares == sizeof o->shares / sizeof o->shares[0])
        return sm_cli_usage_error(verb(o), "at most %zu -v shares",
                                  sizeof o->shares / sizeof o->shares[0]);
    int ro = 0;
    size_t len = strlen(arg);
    if (len > 3 && (!strcmp(arg + len - 3, ":ro") || !strcmp(arg + len - 3, ":rw"))) {
        ro = arg[len - 2] == 'r' && arg[len - 1] == 'o';
        arg[len - 3] = '\0';
    }
    char *guest = strchr(arg, ':');
    if (!guest || guest == arg || guest[1] != '/')
        return sm_cli_usage_error(verb(o), "-v wants HOSTPATH:/GUESTPATH[:ro], not '%s'", arg);
    *guest++ = '\0';
    char *real = realpath(arg, NULL);
    if (!real)
        return sm_cli_usage_error(verb(o), "-v: %s: %s", arg, strerror(errno));
    o->shares[o->nshares++] = (sm_share){.host_path = real, .guest_path = guest,
                                         .read_only = ro};
    return 0;
}

int sm_run_add_tmpfs(sm_run_opts *o, char *arg)
{
    if (o->ntmpfs == sizeof o->tmpfs / sizeof o->tmpfs[0])
        return sm_cli_usage_error(verb(o), "at most %zu --tmpfs mounts",
                                  sizeof o->tmpfs / sizeof o->tmpfs[0]);
    char *opts = strchr(arg, ':');
    if (opts)
        *opts++ = '\0';
    if (arg[0] != '/' || !strcmp(arg, "/"))
        return sm_cli_usage_error(verb(o), "--tmpfs wants /PATH[:OPTIONS] (not the root), not "
                                  "'%s'", arg);
    o->tmpfs[o->ntmpfs++] = (sm_tmpfs){.path = arg, .options = opts && *opts ? opts : NULL};
    return 0;
}

void sm_run_opts_free(sm_run_opts *o)
{
    for (size_t i = 0; i < o->nenv; i++)
        free(o->env[i]);
    for (unsigned i = 0; i < o->nshares; i++)
        free((char *)o->shares[i].host_path);
}
