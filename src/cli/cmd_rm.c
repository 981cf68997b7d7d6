/* supermachine rm: forget ended VMs (with -f, stop running ones first). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_rm(int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    int force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        if (c == 'f') {
            force = 1;
        } else if (c == 'h') {
            printf("Usage: supermachine rm [-f] VM...\n\n"
                   "Remove ended VMs: their logs, exit status and names. With -f, stop\n"
                   "running ones first, and a VM that does not exist is no error.\n");
            return 0;
        } else {
            return sm_cli_usage_error("rm", "unknown option");
        }
    }
    if (optind >= argc)
        return sm_cli_usage_error("rm", "which VM?");
    int status = 0;
    for (int i = optind; i < argc; i++) {
        int err = sm_vm_remove(argv[i], force);
        if (err == -ENOENT && force)
            continue;  /* docker rm -f: gone already is fine */
        if (err != 0)
            status = sm_cli_fail();
        else
            printf("%s\n", argv[i]);
    }
    return status;
}
