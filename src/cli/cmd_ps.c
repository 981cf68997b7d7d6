/* supermachine ps: the VMs of this user. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine ps [-a] [-q]\n\n"
               "List running VMs (with -a, also detached VMs that have ended).\n\n"
               "Options:\n"
               "  -a, --all     also ended VMs\n"
               "  -q, --quiet   only the ids\n"
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

static void row(const sm_vm_info *v)
{
    char created[32], status[32];
    ago(v->created, created, sizeof created);
    if (v->running)
        snprintf(status, sizeof status, "Up");
    else if (v->exit_status >= 0)
        snprintf(status, sizeof status, "Exited (%d)", v->exit_status);
    else
        snprintf(status, sizeof status, "Exited");
    printf("%-12.12s  %-28.28s  %-24.24s  %-16s  %-12s  %-28s  %s\n", v->id, v->image,
           v->command, created, status, v->ports, v->name);
}

int sm_cmd_ps(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    int all = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "aqh", opts, NULL)) != -1) {
        if (c == 'a') all = 1;
        else if (c == 'q') quiet = 1;
        else if (c == 'h') { usage(stdout); return 0; }
        else return sm_cli_usage_error("ps", "unknown option");
    }
    sm_vm_info *list;
    size_t n;
    if (sm_vm_list(&list, &n) != 0)
        return sm_cli_fail();
    if (!quiet)
        printf("%-12s  %-28s  %-24s  %-16s  %-12s  %-28s  %s\n", "VM ID", "IMAGE", "COMMAND",
               "CREATED", "STATUS", "PORTS", "NAMES");
    for (size_t i = 0; i < n; i++) {
        if (!all && !list[i].running)
            continue;
        if (quiet)
            printf("%.12s\n", list[i].id);
        else
            row(&list[i]);
    }
    free(list);
    return 0;
}
