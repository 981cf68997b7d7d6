#include <signal.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "supermachine.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", sm_cmd_run, "run an image's process in a new microVM"},
    {"create", sm_cmd_create, "make a VM of an image without starting it"},
    {"start", sm_cmd_start, "start created or ended VMs"},
    {"restart", sm_cmd_restart, "stop VMs, then start them again"},
    {"ps", sm_cmd_ps, "list VMs"},
    {"exec", sm_cmd_exec, "run a command in a running VM"},
    {"logs", sm_cmd_logs, "print a detached VM's output"},
    {"stop", sm_cmd_stop, "stop VMs gracefully"},
    {"rm", sm_cmd_rm, "remove ended VMs"},
    {"kill", sm_cmd_kill, "send a signal to VMs' main processes"},
    {"wait", sm_cmd_wait, "wait for VMs to end and print their exit statuses"},
    {"attach", sm_cmd_attach, "follow a detached VM's main process"},
    {"top", sm_cmd_top, "list the processes in a VM"},
    {"stats", sm_cmd_stats, "show what running VMs cost the host"},
    {"pause", sm_cmd_pause, "freeze VMs' vCPUs"},
    {"unpause", sm_cmd_unpause, "let paused VMs run again"},
    {"cp", sm_cmd_cp, "copy files and directories between the host and a VM"},
    {"port", sm_cmd_port, "list a VM's published ports"},
    {"rename", sm_cmd_rename, "give a VM a new name"},
    {"boot", sm_cmd_boot, "boot a kernel and initramfs and run one command (low level)"},
    {"pull", sm_cmd_pull, "download an image from a registry"},
    {"push", sm_cmd_push, "upload a stored image to its registry"},
    {"load", sm_cmd_load, "load images from a docker save or OCI archive (docker load)"},
    {"import", sm_cmd_import, "load images from a file or layout, printing name and digest"},
    {"images", sm_cmd_images, "list stored images"},
    {"inspect", sm_cmd_inspect, "describe VMs or stored images as JSON"},
    {"rmi", sm_cmd_rmi, "remove images"},
    {"save", sm_cmd_save, "write images to a tar (docker save)"},
    {"history", sm_cmd_history, "show the steps that built an image"},
    {"tag", sm_cmd_tag, "give a stored image another name"},
    {"gc", sm_cmd_gc, "delete blobs no image uses"},
    {"login", sm_cmd_login, "log in to a registry (docker login)"},
    {"logout", sm_cmd_logout, "log out of a registry"},
    {"bake", sm_cmd_bake, "boot an image once and snapshot it, for fast starts"},
    {"snapshot", sm_cmd_snapshot, "write a snapshot of a running VM"},
    {"dedup", sm_cmd_dedup, "share identical memory pages of sibling snapshots"},
    {"system", sm_cmd_system, "disk use (df) and removing what nothing needs (prune)"},
    {"prune", sm_cmd_prune, "remove ended VMs and unused data (system prune)"},
    {"info", sm_cmd_info, "show KVM status, directories, guest kernel and disk use"},
    {"version", sm_cmd_version, "show the version"},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(name, commands[i].name))
            return &commands[i];
    return NULL;
}

/* `supermachine help CMD` is `supermachine CMD --help`. */
static int help(int argc, char **argv)
{
    const command *c = argc > 2 ? find_command(argv[2]) : NULL;
    if (argc > 2 && !c) {
        fprintf(stderr, "supermachine: no command '%s' (see 'supermachine --help')\n", argv[2]);
        return SM_CLI_EXIT_FAILURE;
    }
    if (!c)
        return -1;
    char *args[] = {argv[2], "--help", NULL};
    return c->run(2, args);
}

int sm_cli_fail(void)
{
    fprintf(stderr, "supermachine: %s\n", sm_last_error());
    return SM_CLI_EXIT_FAILURE;
}

int sm_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "supermachine %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'supermachine %s --help'.\n", cmd);
    va_end(ap);
    return SM_CLI_EXIT_FAILURE;
}

int sm_cli_count(const char *cmd, const char *opt, const char *s, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v == 0 || v > max)
        return sm_cli_usage_error(cmd, "%s wants a number from 1 to %u, not '%s'", opt, max, s);
    *out = (uint32_t)v;
    return 0;
}

/* docker's units (b, k, m, g, t; any case, "512m", "1g", "2GiB"); a bare
 * number is MiB, as our -m always took it (docker would read bytes and
 * refuse anything under 6 MB). */
int sm_cli_parse_memory(const char *s, uint32_t *mib)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    uint64_t unit = 1u << 20;
    switch (*end | 0x20) {
    case 'b': unit = 1; break;
    case 'k': unit = 1u << 10; break;
    case 'm': unit = 1u << 20; break;
    case 'g': unit = 1u << 30; break;
    case 't': unit = 1ull << 40; break;
    default: if (*end) unit = 0;
    }
    const char *rest = *end ? end + 1 : end;
    if (*end && (*end | 0x20) != 'b' && (!strcasecmp(rest, "ib") || !strcasecmp(rest, "b")))
        rest += strlen(rest);
    double bytes = v * (double)unit;
    if (errno || end == s || !unit || *rest || !(v > 0) || bytes > (double)(1ull << 40))
        return -1;
    uint64_t m = (uint64_t)((bytes + (1 << 20) - 1) / (1 << 20));
    *mib = (uint32_t)(m ? m : 1);
    return 0;
}

int sm_cli_memory(const char *cmd, const char *opt, const char *s, uint32_t *mib)
{
    if (sm_cli_parse_memory(s, mib) == 0)
        return 0;
    return sm_cli_usage_error(cmd, "%s wants a size such as 512m or 2g (a bare number is "
                              "MiB), not '%s'", opt, s);
}

/* docker's --cpus is a share of CPU time ("1.5"); a VM has whole vCPUs,
 * so it gets the share rounded up, and a fraction becomes a quota on the
 * time they use together. */
int sm_cli_parse_cpus(double v, uint32_t *cpus, uint32_t *quota_milli)
{
    if (!(v > 0) || v > 64)
        return -1;
    uint32_t milli = (uint32_t)(v * 1000 + 0.5);
    *cpus = (milli + 999) / 1000;
    *quota_milli = milli < *cpus * 1000 ? milli : 0;
    return milli ? 0 : -1;
}

int sm_cli_cpus(const char *cmd, const char *opt, const char *s, uint32_t *cpus,
                uint32_t *quota_milli)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || sm_cli_parse_cpus(v, cpus, quota_milli))
        return sm_cli_usage_error(cmd, "%s wants a number of CPUs from 0.01 to 64, not '%s'",
                                  opt, s);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'supermachine COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    /* A console reader that goes away must not kill the VMM mid-run. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return SM_CLI_EXIT_FAILURE;
    }
    if (!strcmp(argv[1], "help")) {
        int status = help(argc, argv);
        if (status >= 0)
            return status;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("supermachine %d.%d\n", SM_VERSION_MAJOR, SM_VERSION_MINOR);
        return 0;
    }
    const command *c = find_command(argv[1]);
    if (c)
        return c->run(argc - 1, argv + 1);
    fprintf(stderr, "supermachine: unknown command '%s' (see 'supermachine --help')\n", argv[1]);
    return SM_CLI_EXIT_FAILURE;
}
