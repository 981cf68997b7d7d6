/* supermachine stop: stop VMs gracefully (StopSignal, then kill). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine stop [-t SECONDS] VM...\n\n"
               "Send each VM's main process its image's StopSignal (default SIGTERM),\n"
               "wait up to SECONDS (default 10) for it to end, then stop the VM.\n");
}

int sm_cli_stop_options(const char *cmd, int argc, char **argv, void (*help)(FILE *),
                        uint32_t *ms)
{
    static const struct option opts[] = {
        {"time", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'}, {0},
    };
    long secs = 10;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
        char *end;
        if (c == 'h') {
            help(stdout);
            return 0;
        }
        if (c != 't' || (secs = strtol(optarg, &end, 10), *end || secs < 0 || secs > 86400))
            return sm_cli_usage_error(cmd, "-t wants seconds from 0 to 86400");
    }
    if (optind >= argc)
        return sm_cli_usage_error(cmd, "which VM?");
    *ms = (uint32_t)secs * 1000;
    return -1;
}

int sm_cmd_stop(int argc, char **argv)
{
    uint32_t ms;
    int rc = sm_cli_stop_options("stop", argc, argv, usage, &ms);
    if (rc >= 0)
        return rc;
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sm_vm *vm = NULL;
        if (sm_vm_open(argv[i], &vm) != 0 || sm_vm_shutdown(vm, 0, ms) != 0)
            status = sm_cli_fail();
        else
            printf("%s\n", argv[i]);
        sm_vm_release(vm);
    }
    return status;
}
