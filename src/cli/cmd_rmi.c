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
            "Remove IMAGE's name from the local store, then delete the blobs no\n"
            "image needs any more. A digest or ID of an image with several names is\n"
            "refused unless -f, which removes every name.\n\n"
            "Options:\n"
            "  -f, --force  given an ID of an image with several names, remove them all\n"
            "  --no-gc      keep the blobs; 'supermachine gc' deletes them later\n"
            "  -h, --help   show this help\n");
}

int sm_cmd_rmi(int argc, char **argv)
{
    static const struct option opts[] = {
        {"no-gc", no_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int o, gc = 1;
    unsigned flags = 0;
    while ((o = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        switch (o) {
        case 'f': flags |= SM_IMAGE_REMOVE_FORCE; break;
        case 'n': gc = 0; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("rmi", "unknown option");
        }
    }
    if (optind == argc)
        return sm_cli_usage_error("rmi", "name the image to remove");
    for (int i = optind; i < argc; i++) {
        if (sm_image_remove_flags(argv[i], flags) < 0)
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
