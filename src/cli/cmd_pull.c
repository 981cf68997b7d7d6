/* supermachine pull: fetch images from a registry into the local store. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "supermachine.h"

#define INSECURE_MAX 16

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine pull [OPTIONS] IMAGE...\n\n"
            "Download IMAGE (name[:tag] or name@sha256:...) from its registry into the\n"
            "local image store, verifying every blob, and build its root filesystem\n"
            "(unless --no-rootfs) so that the first run need not. Prints the name and\n"
            "digest.\n\n"
            "Options:\n"
            "  --platform OS/ARCH[/VARIANT]  which image of a multi-platform index\n"
            "                                (default linux/amd64); an image that\n"
            "                                is not multi-platform must be of it\n"
            "  --insecure-registry HOST[:PORT]  allow plain HTTP to this registry\n"
            "                                (loopback registries always may)\n"
            "  --username USER               log in as USER, reading the password\n"
            "                                from standard input (default: the\n"
            "                                credentials of 'docker login')\n"
            "  --no-rootfs                   only download; build the root filesystem\n"
            "                                on first use instead\n"
            "  -q, --quiet                   no progress display\n"
            "  -h, --help                    show this help\n");
}

/* One status line, redrawn in place; only on a terminal. */
static void show_progress(const sm_pull_progress *p, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r\033[K%s: %u/%u layers, %.1f/%.1f MiB", p->name, p->layers_done,
            p->layers, (double)p->bytes_done / (1 << 20), (double)p->bytes / (1 << 20));
    if (p->finished)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void show_building(const char *name, void *ctx)
{
    fprintf(stderr, "building root filesystem for %s\n", name);
    (void)ctx;
}

/* Pull and build the root filesystem (or find it in the cache), as docker
 * unpacks layers at pull time. The image is listed only once both are
 * done, so a build that fails (a full disk) leaves no image behind. */
static int pull_and_build(const char *reference, const sm_pull_options *po, int show,
                          sm_image_ref *ref)
{
    sm_image *img;
    sm_image_open_options oo = {.size = sizeof oo, .pull_policy = SM_PULL_ALWAYS, .pull = po,
                                .building = show ? show_building : NULL};
    int err = sm_image_open(reference, &oo, &img);
    if (err)
        return err;
    const sm_image_info *info = sm_image_get_info(img);
    snprintf(ref->name, sizeof ref->name, "%s", info->name);
    snprintf(ref->digest, sizeof ref->digest, "%s", info->digest);
    sm_image_close(img);
    return 0;
}

static int read_password(char *out, size_t len)
{
    if (!fgets(out, (int)len, stdin))
        return sm_cli_usage_error("pull", "--username needs the password on standard input");
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

int sm_cmd_pull(int argc, char **argv)
{
    static const struct option opts[] = {
        {"platform", required_argument, NULL, 'p'},
        {"insecure-registry", required_argument, NULL, 'i'},
        {"username", required_argument, NULL, 'u'},
        {"quiet", no_argument, NULL, 'q'},
        {"no-rootfs", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *insecure[INSECURE_MAX + SM_CLI_INSECURE_MAX + 1] = {0};
    int n_insecure = 0, quiet = 0, rootfs = 1, o;
    const sm_cli_config *cfg = sm_cli_config_get();
    if (!cfg)
        return SM_CLI_EXIT_FAILURE;
    for (int i = 0; cfg->insecure[i]; i++)
        insecure[n_insecure++] = cfg->insecure[i];
    char password[1024];
    sm_pull_options po = {.size = sizeof po, .insecure_registries = insecure,
                          .mirrors = cfg->mirrors};
    while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (o) {
        case 'p': po.platform = optarg; break;
        case 'i':
            if (n_insecure >= INSECURE_MAX + SM_CLI_INSECURE_MAX)
                return sm_cli_usage_error("pull", "too many --insecure-registry options");
            insecure[n_insecure++] = optarg;
            break;
        case 'u': po.username = optarg; break;
        case 'q': quiet = 1; break;
        case 'R': rootfs = 0; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("pull", "unknown option");
        }
    }
    if (optind == argc)
        return sm_cli_usage_error("pull", "name the image to pull");
    if (po.username && read_password(password, sizeof password))
        return SM_CLI_EXIT_FAILURE;
    po.password = po.username ? password : NULL;
    int show = !quiet && isatty(STDERR_FILENO);
    if (show)
        po.progress = show_progress;
    for (int i = optind; i < argc; i++) {
        sm_image_ref ref = SM_IMAGE_REF_INIT;
        int err = rootfs ? pull_and_build(argv[i], &po, show, &ref)
                         : sm_image_pull(argv[i], &po, &ref);
        if (err < 0)
            return sm_cli_fail();
        printf("%s %s\n", ref.name, ref.digest);
    }
    return 0;
}
