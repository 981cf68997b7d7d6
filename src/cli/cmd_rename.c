/* supermachine rename: another name for a VM. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_rename(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("rename", "unknown option");
        printf("Usage: supermachine rename VM NEW_NAME\n\nGive a VM a new name.\n");
        return 0;
    }
    if (argc - optind != 2)
        return sm_cli_usage_error("rename", "wants VM and NEW_NAME");
    return sm_vm_rename(argv[optind], argv[optind + 1]) ? sm_cli_fail() : 0;
}
