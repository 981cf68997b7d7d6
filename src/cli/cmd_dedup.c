/* supermachine dedup: share identical memory pages of sibling snapshots. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

/* Not a failure of the tool: the filesystem cannot do it. A script can
 * tell it from 125 and ignore it. */
#define EXIT_UNSUPPORTED 1

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine dedup [-b] [DIR]\n\n"
            "Make sibling snapshots (same image, memory size and format) share their\n"
            "identical memory pages on disk. DIR defaults to the snapshots directory\n"
            "of the data directory. Needs a filesystem that can share extents (XFS\n"
            "with reflink=1, btrfs); elsewhere it says so, changes nothing and exits 1.\n"
            "Snapshots read the same bytes throughout, even if it is interrupted.\n\n"
            "Options:\n"
            "  -b, --bytes  print sizes in bytes\n"
            "  -h, --help   show this help\n");
}

static void size_text(uint64_t bytes, int exact, char *out, size_t len)
{
    if (exact)
        snprintf(out, len, "%" PRIu64 " bytes", bytes);
    else
        sm_cli_human_size(bytes, out, len);
}

static void report(const sm_dedup_result *r, int exact)
{
    char compared[40], shared[40];
    size_text(r->bytes_compared, exact, compared, sizeof compared);
    size_text(r->bytes_shared, exact, shared, sizeof shared);
    printf("%" PRIu64 " snapshot%s in %" PRIu64 " group%s: %s compared, %s newly shared\n",
           r->snapshots, r->snapshots == 1 ? "" : "s", r->groups, r->groups == 1 ? "" : "s",
           compared, shared);
}

int sm_cmd_dedup(int argc, char **argv)
{
    static const struct option opts[] = {
        {"bytes", no_argument, NULL, 'b'}, {"help", no_argument, NULL, 'h'}, {0}};
    int o, exact = 0;
    while ((o = getopt_long(argc, argv, "bh", opts, NULL)) != -1) {
        if (o == 'b') {
            exact = 1;
            continue;
        }
        if (o == 'h') {
            usage(stdout);
            return 0;
        }
        return sm_cli_usage_error("dedup", "unknown option");
    }
    if (argc - optind > 1)
        return sm_cli_usage_error("dedup", "takes at most one directory");
    sm_dedup_result r = {.size = sizeof r};
    int rc = sm_snapshot_dedup(optind < argc ? argv[optind] : NULL, &r);
    if (rc == -EOPNOTSUPP) {
        fprintf(stderr, "supermachine: %s\n", sm_last_error());
        return EXIT_UNSUPPORTED;
    }
    if (rc < 0)
        return sm_cli_fail();
    report(&r, exact);
    return 0;
}
