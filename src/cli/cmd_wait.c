/* supermachine wait: block until VMs end, print their exit statuses. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_wait(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("wait", "unknown option");
        printf("Usage: supermachine wait VM...\n\n"
               "Wait for each VM to end and print its main process's exit status.\n");
        return 0;
    }
    if (optind >= argc)
        return sm_cli_usage_error("wait", "which VM?");
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sm_vm *vm = NULL;
        int code = -1;
        if (sm_vm_open(argv[i], &vm) != 0 || sm_vm_wait(vm, -1, &code) != 0)
            status = sm_cli_fail();
        else
            printf("%d\n", code);
        sm_vm_release(vm);
    }
    return status;
}
