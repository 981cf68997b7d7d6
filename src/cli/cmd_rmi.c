/* supermachine rmi: remove images from the local store. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine rmi [OPTIONS] IMAGE...\n\n"
            "Remove IMAGE's name from the local store (given a digest or ID: every\n"
            "name of that image), then delete the blobs no image needs any more.\n\n"
            "Options:\n"
            "  --no-gc      keep the blobs; 'supermachine gc' deletes them later\n"
            "  -h, --help   show this help\n");
}

int sm_cmd_rmi(int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-gc", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int o, gc = 1;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'n': gc = 0; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("rmi", "unknown option");
        }
    }
    if (optind == argc)
        return sm_cli_usage_error("rmi", "name the image to remove");
    for (int i = optind; i < argc; i++) {
        if (sm_image_remove(argv[i]) < 0)
            return sm_cli_fail();
        printf("Removed %s\n", argv[i]);
    }
    sm_gc_result r = {.size = sizeof r};
    if (gc && sm_image_gc(&r) < 0)
        return sm_cli_fail();
    if (gc && r.blobs_removed) {
        char size[32];
        sm_cli_human_size(r.bytes_freed, size, sizeof size);
        printf("Deleted %" PRIu64 " blobs, %s\n", r.blobs_removed, size);
    }
    return 0;
}
