/* supermachine restart: stop VMs as `stop` does, then start them again
 * from their records (docker restart). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f, "Usage: supermachine restart [-t SECONDS] VM...\n\n"
               "Stop each VM as 'stop' does (its image's StopSignal, then after SECONDS,\n"
               "default 10, the VM), then start it again as 'start' does; print their\n"
               "names. An ended or created VM is just started.\n\n"
               "Options:\n"
               "  -t, --time SECONDS  how long the process may take to end\n"
               "  -h, --help          show this help\n");
}

int sm_cmd_restart(int argc, char **argv)
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
            usage(stdout);
            return 0;
        }
        if (c != 't' || (secs = strtol(optarg, &end, 10), *end || secs < 0 || secs > 86400))
            return sm_cli_usage_error("restart", "-t wants seconds from 0 to 86400");
    }
    if (optind >= argc)
        return sm_cli_usage_error("restart", "which VM?");
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sm_vm *vm = NULL;
        if (sm_vm_restart(argv[i], (uint32_t)secs * 1000, &vm) != 0)
            status = sm_cli_fail();
        else
            printf("%s\n", argv[i]);
        sm_vm_release(vm);
    }
    return status;
}
