/* supermachine logs: a detached VM's process output. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_logs(int argc, char **argv)
{
    static const struct option opts[] = {
        {"follow", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    int follow = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        if (c == 'f') {
            follow = 1;
        } else if (c == 'h') {
            printf("Usage: supermachine logs [-f] VM\n\n"
                   "Print what a detached VM's process wrote, stdout to stdout and stderr\n"
                   "to stderr. With -f, keep printing until the VM ends.\n");
            return 0;
        } else {
            return sm_cli_usage_error("logs", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return sm_cli_usage_error("logs", "name exactly one VM");
    return sm_vm_logs(argv[optind], follow, STDOUT_FILENO, STDERR_FILENO) ? sm_cli_fail() : 0;
}
