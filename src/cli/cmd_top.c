/* supermachine top: the processes in a VM (docker top). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_top(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("top", "unknown option");
        printf("Usage: supermachine top VM\n\n"
               "List the processes running in the VM: uid, pid, parent, state, CPU\n"
               "time, resident memory and command line, as the guest's /proc has them.\n");
        return 0;
    }
    if (argc - optind != 1)
        return sm_cli_usage_error("top", "name one VM");
    sm_vm *vm;
    sm_vm_process **list;
    size_t n;
    if (sm_vm_open(argv[optind], &vm) != 0)
        return sm_cli_fail();
    int err = sm_vm_processes(vm, &list, &n);
    sm_vm_release(vm);
    if (err)
        return sm_cli_fail();
    printf("%-6s %7s %7s %-1s %9s %10s  %s\n", "UID", "PID", "PPID", "S", "TIME", "RSS", "CMD");
    for (size_t i = 0; i < n; i++) {
        const sm_vm_process *p = list[i];
        unsigned long long s = (unsigned long long)(p->cpu_ns / 1000000000u);
        char rss[32];
        sm_cli_human_size(p->rss_bytes, rss, sizeof rss);
        printf("%-6u %7d %7d %c %3llu:%02llu:%02llu %10s  %s\n", p->uid, p->pid, p->ppid,
               p->state, s / 3600, s / 60 % 60, s % 60, rss, p->command);
    }
    sm_vm_processes_free(list, n);
    return 0;
}
