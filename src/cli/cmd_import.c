/* supermachine import: load images from docker-save or OCI archives. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine import [OPTIONS] PATH\n\n"
            "Import the images in PATH into the local image store: a 'docker save'\n"
            "tarball, an oci-archive tarball (either may be compressed), or an OCI\n"
            "image layout directory. Prints each image's name and digest.\n\n"
            "Options:\n"
            "  --name NAME                   name the image (needed when the archive\n"
            "                                names none, to refer to it by name)\n"
            "  --platform OS/ARCH[/VARIANT]  which image of a multi-platform archive\n"
            "                                (default linux/amd64)\n"
            "  -h, --help                    show this help\n");
}

int sm_cmd_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"platform", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    sm_import_options io = {.size = sizeof io};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'n': io.name = optarg; break;
        case 'p': io.platform = optarg; break;
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
    for (size_t i = 0; i < n; i++)
        printf("%s %s\n", refs[i].name[0] ? refs[i].name : "<none>", refs[i].digest);
    free(refs);
    return 0;
}
