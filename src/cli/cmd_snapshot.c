/* supermachine snapshot: a live snapshot of a running VM. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine snapshot [--diff] VM DIR\n\n"
            "Write a snapshot of the running VM (name or id) into the new directory\n"
            "DIR: its memory and the state of its vCPUs and devices, taken while it is\n"
            "paused for a moment; the VM then runs on. 'supermachine run --snapshot\n"
            "DIR' resumes it, as many times as wanted; a detached VM's main process\n"
            "(a server, say) is running there at once.\n\n"
            "Options:\n"
            "      --diff   keep only the memory changed since the VM was resumed from\n"
            "               its snapshot, which must stay where it is (the parent)\n"
            "  -h, --help   show this help\n");
}

int sm_cmd_snapshot(int argc, char **argv)
{
    static const struct option opts[] = {
        {"diff", no_argument, NULL, 'D'}, {"help", no_argument, NULL, 'h'}, {0}};
    int o, diff = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'h') {
            usage(stdout);
            return 0;
        }
        if (o != 'D')
            return sm_cli_usage_error("snapshot", "unknown option");
        diff = 1;
    }
    if (argc - optind != 2)
        return sm_cli_usage_error("snapshot", "wants a VM and a directory");
    sm_vm *vm;
    if (sm_vm_open(argv[optind], &vm) < 0)
        return sm_cli_fail();
    int err = diff ? sm_vm_snapshot_diff(vm, argv[optind + 1])
                   : sm_vm_snapshot(vm, argv[optind + 1]);
    sm_vm_release(vm);
    if (err < 0)
        return sm_cli_fail();
    printf("%s\n", argv[optind + 1]);
    return 0;
}
