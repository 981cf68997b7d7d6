/* supermachine load (docker load) and import (its older name here): images
 * from docker-save or OCI archives, a file or standard input. docker's own
 * import, an image from a bare filesystem tarball, is not supported. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine import [OPTIONS] PATH\n\n"
            "The older name of load, with its own output. Import the images in PATH into the local image store: a 'docker save'\n"
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

/* As pull does: the root filesystem is built now, not at the first run,
 * and an image whose layers cannot be applied is not listed. */
static int import_path(const char *path, const sm_import_options *opts, int rootfs, int load)
{
    sm_import_options io = *opts;
    io.build_rootfs = rootfs;
    if (isatty(STDERR_FILENO))
        io.building = show_building;
    sm_image_ref **refs;
    size_t n;
    if (sm_image_import(path, &io, &refs, &n) < 0)
        return sm_cli_fail();
    for (size_t i = 0; i < n; i++) {
        const char *name = refs[i]->name[0] ? refs[i]->name : NULL;
        if (load && name)
            printf("Loaded image: %s\n", name);
        else if (load)
            printf("Loaded image ID: %s\n", refs[i]->digest);
        else
            printf("%s %s\n", name ? name : "<none>", refs[i]->digest);
    }
    sm_image_ref_list_free(refs, n);
    return 0;
}

/* docker load reads standard input without -i: copied to a file in the
 * data directory first, as an archive is read more than once. */
static int spool_stdin(char *path, size_t len)
{
    sm_paths p = {.size = sizeof p};
    if (sm_get_paths(&p) != 0)
        return sm_cli_fail();
    /* The data directory may not exist before the first image. */
    for (char *c = p.data_dir + 1; *c; c++) {
        if (*c == '/') {
            *c = '\0';
            mkdir(p.data_dir, 0755);
            *c = '/';
        }
    }
    mkdir(p.data_dir, 0700);   /* the store's own mode (src/oci/store.c) */
    snprintf(path, len, "%s/.load-XXXXXX", p.data_dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "supermachine: cannot create %s: %s\n", path, strerror(errno));
        return SM_CLI_EXIT_FAILURE;
    }
    char buf[1 << 16];
    ssize_t n;
    int err = 0;
    size_t total = 0;
    while (!err && (n = read(STDIN_FILENO, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        err = n < 0 || write(fd, buf, (size_t)n) != n ? (errno ? errno : EIO) : 0;
        total += n > 0 ? (size_t)n : 0;
    }
    close(fd);
    if (!err && total == 0) {
        unlink(path);
        fprintf(stderr, "supermachine: standard input is empty: pipe an archive in, or give "
                "-i FILE\n");
        return SM_CLI_EXIT_FAILURE;
    }
    if (err) {
        unlink(path);
        fprintf(stderr, "supermachine: cannot copy standard input to %s: %s\n", path,
                strerror(err));
        return SM_CLI_EXIT_FAILURE;
    }
    return 0;
}

int sm_cmd_load(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'}, {"quiet", no_argument, NULL, 'q'},
        {"platform", required_argument, NULL, 'p'}, {"no-rootfs", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'}, {0},
    };
    sm_import_options io = {.size = sizeof io};
    const char *input = NULL;
    int rootfs = 1, o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "i:qh", opts, NULL)) != -1) {
        switch (o) {
        case 'i': input = optarg; break;
        case 'q': break;  /* nothing but the result is printed anyway */
        case 'p': io.platform = optarg; break;
        case 'R': rootfs = 0; break;
        case 'h':
            printf("Usage: supermachine load [-i FILE] [OPTIONS]\n\n"
                   "Load the images of a 'docker save' or oci-archive tarball (either may\n"
                   "be compressed) or an OCI layout directory: FILE, else standard input.\n\n"
                   "Options:\n"
                   "  -i, --input FILE              read FILE, not standard input\n"
                   "  -q, --quiet                   accepted, as docker does\n"
                   "  --platform OS/ARCH[/VARIANT]  which image of a multi-platform archive\n"
                   "  --no-rootfs                   build the root filesystem on first use\n"
                   "  -h, --help                    show this help\n");
            return 0;
        default: return sm_cli_usage_error("load", "unknown option");
        }
    }
    if (optind != argc)
        return sm_cli_usage_error("load", "takes no arguments (-i FILE, or standard input)");
    if (!input && isatty(STDIN_FILENO))
        return sm_cli_usage_error("load", "standard input is a terminal: give -i FILE or "
                                  "pipe an archive in");
    char spooled[4200];
    if (!input) {
        int err = spool_stdin(spooled, sizeof spooled);
        if (err)
            return err;
    }
    int status = import_path(input ? input : spooled, &io, rootfs, 1);
    if (!input)
        unlink(spooled);
    return status;
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
    return import_path(argv[optind], &io, rootfs, 0);
}
