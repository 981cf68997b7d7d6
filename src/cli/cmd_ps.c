/* supermachine ps: the VMs of this user. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine ps [-a] [-q] [--format F]\n\n"
               "List running VMs (with -a, also detached VMs that have ended or\n"
               "were created and not started).\n\n"
               "Options:\n"
               "  -a, --all     also ended and created VMs\n"
               "  -q, --quiet   only the ids\n"
               "  --format F    each VM as F: json, or a template such as\n"
               "                '{{.ID}}\\t{{.Names}}' ('table F' adds a header); fields:\n"
               "                ID Image Command CreatedAt RunningFor Status State Ports Names\n"
               "  -h, --help    show this help\n");
}

static void ago(int64_t t, char *out, size_t len)
{
    int64_t s = (int64_t)time(NULL) - t;
    if (s < 60)
        snprintf(out, len, "%lld seconds ago", (long long)(s < 0 ? 0 : s));
    else if (s < 3600)
        snprintf(out, len, "%lld minutes ago", (long long)(s / 60));
    else if (s < 86400)
        snprintf(out, len, "%lld hours ago", (long long)(s / 3600));
    else
        snprintf(out, len, "%lld days ago", (long long)(s / 86400));
}

static int paused(const sm_vm_info *v)
{
    sm_vm *vm;
    if (!v->running || sm_vm_open(v->id, &vm) != 0)
        return 0;
    int p = sm_vm_paused(vm);
    sm_vm_release(vm);
    return p;
}

static void status_of(const sm_vm_info *v, char *status, size_t len)
{
    if (v->running)
        snprintf(status, len, paused(v) ? "Up (Paused)" : "Up");
    else if (v->never_started)
        snprintf(status, len, "Created");
    else if (v->exit_status >= 0)
        snprintf(status, len, "Exited (%d)", v->exit_status);
    else
        snprintf(status, len, "Exited");
}

/* docker's State: created, running, paused or exited. */
static const char *state_of(const sm_vm_info *v)
{
    if (!v->running)
        return v->never_started ? "created" : "exited";
    return paused(v) ? "paused" : "running";
}

#define NFIELDS 9

/* A VM as --format sees it; the strings live in buf. */
static void fields_of(const sm_vm_info *v, sm_cli_field f[NFIELDS], char buf[4][64])
{
    snprintf(buf[0], 64, "%.12s", v->id);
    ago(v->created, buf[1], 64);
    status_of(v, buf[2], 64);
    struct tm tm;
    time_t t = (time_t)v->created;
    strftime(buf[3], 64, "%Y-%m-%d %H:%M:%S +0000 UTC", gmtime_r(&t, &tm));
    sm_cli_field all[NFIELDS] = {
        {"ID", buf[0]}, {"Image", v->image}, {"Command", v->command},
        {"CreatedAt", buf[3]}, {"RunningFor", buf[1]}, {"Status", buf[2]},
        {"State", state_of(v)}, {"Ports", v->ports}, {"Names", v->name},
    };
    memcpy(f, all, sizeof all);
}

static void row(const sm_vm_info *v)
{
    char created[32], status[32];
    ago(v->created, created, sizeof created);
    status_of(v, status, sizeof status);
    printf("%-12.12s  %-28.28s  %-24.24s  %-16s  %-12s  %-28s  %s\n", v->id, v->image,
           v->command, created, status, v->ports, v->name);
}

int sm_cmd_ps(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'},
        {"format", required_argument, NULL, 'F'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    int all = 0, quiet = 0, c;
    const char *format = NULL;
    sm_cli_field f[NFIELDS];
    char buf[4][64];
    sm_vm_info none = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "aqh", opts, NULL)) != -1) {
        if (c == 'a') all = 1;
        else if (c == 'q') quiet = 1;
        else if (c == 'F') format = optarg;
        else if (c == 'h') { usage(stdout); return 0; }
        else return sm_cli_usage_error("ps", "unknown option");
    }
    fields_of(&none, f, buf);
    if (format && sm_cli_format_check("ps", format, f, NFIELDS))
        return SM_CLI_EXIT_FAILURE;
    sm_vm_info **list;
    size_t n;
    if (sm_vm_list(&list, &n) != 0)
        return sm_cli_fail();
    if (format && !quiet)
        sm_cli_format_header(format, f, NFIELDS);
    else if (!quiet)
        printf("%-12s  %-28s  %-24s  %-16s  %-12s  %-28s  %s\n", "VM ID", "IMAGE", "COMMAND",
               "CREATED", "STATUS", "PORTS", "NAMES");
    for (size_t i = 0; i < n; i++) {
        if (!all && !list[i]->running)
            continue;
        if (quiet) {
            printf("%.12s\n", list[i]->id);
        } else if (format) {
            fields_of(list[i], f, buf);
            sm_cli_format_row(format, f, NFIELDS);
        } else {
            row(list[i]);
        }
    }
    sm_vm_list_free(list, n);
    return 0;
}
