/* supermachine kill: a signal to each VM's main process (docker kill). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_kill(int argc, char **argv)
{
    static const struct option opts[] = {
        {"signal", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {0}};
    int signo = SIGKILL, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("Usage: supermachine kill [-s SIGNAL] VM...\n\n"
                   "Send SIGNAL (default KILL; a name such as HUP or a number) to each VM's\n"
                   "main process. The VM ends when that process does.\n");
            return 0;
        }
        if (c != 's' || !(signo = sm_signal_parse(optarg)))
            return sm_cli_usage_error("kill", "-s wants a signal such as KILL, HUP or 15");
    }
    if (optind >= argc)
        return sm_cli_usage_error("kill", "which VM?");
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sm_vm *vm = NULL;
        if (sm_vm_open(argv[i], &vm) != 0 || sm_vm_kill(vm, signo) != 0)
            status = sm_cli_fail();
        else
            printf("%s\n", argv[i]);
        sm_vm_release(vm);
    }
    return status;
}
