/* supermachine gc: delete blobs that no stored image uses. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine gc\n\n"
            "Delete the blobs in the local image store that no named image refers to,\n"
            "and what interrupted pulls left behind, then the baked snapshots no run\n"
            "will resume again (image gone, kernel or sm-init changed, damaged) and\n"
            "what interrupted bakes left. Waits for running pulls.\n\n"
            "Options:\n"
            "  -h, --help   show this help\n");
}

int sm_cmd_gc(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'h') {
            usage(stdout);
            return 0;
        }
        return sm_cli_usage_error("gc", "unknown option");
    }
    if (optind != argc)
        return sm_cli_usage_error("gc", "takes no arguments");
    sm_gc_result r = {.size = sizeof r};
    if (sm_image_gc(&r) < 0)
        return sm_cli_fail();
    sm_gc_result sr = {.size = sizeof sr};
    if (sm_snapshot_gc(&sr) < 0)
        return sm_cli_fail();
    char size[32], ssize[32];
    sm_cli_human_size(r.bytes_freed, size, sizeof size);
    sm_cli_human_size(sr.bytes_freed, ssize, sizeof ssize);
    printf("Deleted %" PRIu64 " blobs, %s\n", r.blobs_removed, size);
    printf("Deleted %" PRIu64 " snapshots, %s\n", sr.snapshots_removed, ssize);
    return 0;
}
