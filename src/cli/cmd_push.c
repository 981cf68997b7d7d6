/* supermachine push: upload stored images to their registries (docker push). */
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
            "Usage: supermachine push [OPTIONS] NAME[:TAG]...\n\n"
            "Upload the stored image NAME[:TAG] (pulled, loaded or tagged here) to the\n"
            "registry and repository its name gives, under its tag: the blobs the\n"
            "registry lacks, then the manifest as stored, so its digest stays the same.\n"
            "Prints the name and digest.\n\n"
            "Options:\n"
            "  --insecure-registry HOST[:PORT]  allow plain HTTP to this registry\n"
            "                                (loopback registries always may)\n"
            "  --username USER               log in as USER, reading the password\n"
            "                                from standard input (default: the\n"
            "                                credentials of 'docker login')\n"
            "  -q, --quiet                   no progress display\n"
            "  -h, --help                    show this help\n");
}

/* One status line, redrawn in place; only on a terminal. */
static void show_progress(const sm_push_progress *p, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r\033[K%s: %u/%u blobs (%u uploaded), %.1f/%.1f MiB", p->name,
            p->blobs_done, p->blobs, p->blobs_uploaded, (double)p->bytes_done / (1 << 20),
            (double)p->bytes / (1 << 20));
    if (p->finished)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static int read_password(char *out, size_t len)
{
    if (!fgets(out, (int)len, stdin))
        return sm_cli_usage_error("push", "--username needs the password on standard input");
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

int sm_cmd_push(int argc, char **argv)
{
    static const struct option opts[] = {
        {"insecure-registry", required_argument, NULL, 'i'},
        {"username", required_argument, NULL, 'u'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *insecure[INSECURE_MAX + SM_CLI_INSECURE_MAX + 1] = {0};
    int n_insecure = 0, quiet = 0, o;
    const sm_cli_config *cfg = sm_cli_config_get();
    if (!cfg)
        return SM_CLI_EXIT_FAILURE;
    for (int i = 0; cfg->insecure[i]; i++)
        insecure[n_insecure++] = cfg->insecure[i];
    char password[1024];
    sm_push_options po = {.size = sizeof po, .insecure_registries = insecure};
    while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (o) {
        case 'i':
            if (n_insecure >= INSECURE_MAX + SM_CLI_INSECURE_MAX)
                return sm_cli_usage_error("push", "too many --insecure-registry options");
            insecure[n_insecure++] = optarg;
            break;
        case 'u': po.username = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("push", "unknown option");
        }
    }
    if (optind == argc)
        return sm_cli_usage_error("push", "name the image to push");
    if (po.username && read_password(password, sizeof password))
        return SM_CLI_EXIT_FAILURE;
    po.password = po.username ? password : NULL;
    if (!quiet && isatty(STDERR_FILENO))
        po.progress = show_progress;
    for (int i = optind; i < argc; i++) {
        sm_image_ref ref = SM_IMAGE_REF_INIT;
        if (sm_image_push(argv[i], &po, &ref) < 0)
            return sm_cli_fail();
        printf("%s %s\n", ref.name, ref.digest);
    }
    return 0;
}
