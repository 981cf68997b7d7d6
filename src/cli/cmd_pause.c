/* supermachine pause / unpause: freeze and thaw VMs' vCPUs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "supermachine.h"

static int freeze(const char *cmd, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c, pause = !strcmp(cmd, "pause");
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error(cmd, "unknown option");
        printf(pause ? "Usage: supermachine pause VM...\n\n"
                       "Stop each VM's vCPUs: everything in the guest stands still until\n"
                       "unpause (its memory stays; exec is refused meanwhile).\n"
                     : "Usage: supermachine unpause VM...\n\nLet paused VMs run again.\n");
        return 0;
    }
    if (optind >= argc)
        return sm_cli_usage_error(cmd, "which VM?");
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sm_vm *vm = NULL;
        if (sm_vm_open(argv[i], &vm) != 0 || (pause ? sm_vm_pause(vm) : sm_vm_unpause(vm)))
            status = sm_cli_fail();
        else
            printf("%s\n", argv[i]);
        sm_vm_release(vm);
    }
    return status;
}

int sm_cmd_pause(int argc, char **argv)
{
    return freeze("pause", argc, argv);
}

int sm_cmd_unpause(int argc, char **argv)
{
    return freeze("unpause", argc, argv);
}
