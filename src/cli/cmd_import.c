/* supermachine import: load images from docker-save or OCI archives. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine import [OPTIONS] PATH\n\n"
            "Import the images in PATH into the local image store: a 'docker save'\n"
            "tarball, an oci-archive tarball (either may be compressed), or an OCI\n"
            "image layout directory, and build each image's root filesystem (unless\n"
            "--no-rootfs). Prints each image's name and digest.\n\n"
            "Options:\n"
            "  --name NAME                   name the image (needed when the archive\n"
            "                                names none, to refer to it by name)\n"
            "  --platform OS/ARCH[/VARIANT]  which image of a multi-platform archive\n"
            "                                (default linux/amd64)\n"
            "  --no-rootfs                   only import; build the root filesystem\n"
            "                                on first use instead\n"
            "  -h, --help                    show this help\n");
}

static void show_building(const char *name, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "building root filesystem for %s\n", name);
}

/* As pull does: the root filesystem is built now, not at the first run.
 * Opened by digest, since an archive may hold an image with no name. */
static int build_rootfs(const sm_image_ref *ref)
{
    sm_image *img;
    sm_image_open_options oo = {.size = sizeof oo, .pull_policy = SM_PULL_NEVER};
    if (isatty(STDERR_FILENO))
        oo.building = show_building;
    int err = sm_image_open(ref->digest, &oo, &img);
    if (!err)
        sm_image_close(img);
    return err;
}

int sm_cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"platform", required_argument, NULL, 'p'},
        {"no-rootfs", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    sm_import_options io = {.size = sizeof io};
    int rootfs = 1, o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'n': io.name = optarg; break;
        case 'p': io.platform = optarg; break;
        case 'R': rootfs = 0; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("import", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return sm_cli_usage_error("import", "name one file or directory to import");
    sm_image_ref *refs;
    size_t n;
    if (sm_image_import(argv[optind], &io, &refs, &n) < 0)
        return sm_cli_fail();
    for (size_t i = 0; i < n; i++) {
        if (rootfs && build_rootfs(&refs[i]) < 0) {
            free(refs);
            return sm_cli_fail();
        }
    }
    for (size_t i = 0; i < n; i++)
        printf("%s %s\n", refs[i].name[0] ? refs[i].name : "<none>", refs[i].digest);
    free(refs);
    return 0;
}
