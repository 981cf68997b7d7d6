/* supermachine images: list the images in the local store. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine images [OPTIONS]\n\n"
            "List the images in the local store.\n\n"
            "Options:\n"
            "  --digests    show each image's full manifest digest\n"
            "  -q, --quiet  print only the names\n"
            "  --format F   each image as F: json, or a template such as\n"
            "               '{{.Repository}}:{{.Tag}}' ('table F' adds a header); fields:\n"
            "               Repository Tag ID Digest CreatedAt CreatedSince Size Platform\n"
            "  -h, --help   show this help\n");
}

void sm_cli_human_size(uint64_t bytes, char *out, size_t len)
{
    static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1000 && u < 4)
        v /= 1000, u++;
    snprintf(out, len, u ? "%.3g %s" : "%.0f %s", v, units[u]);
}

void sm_cli_age(const char *created, char *out, size_t len)
{
    struct tm tm = {0};
    if (!created[0] || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(out, len, "-");
        return;
    }
    double s = difftime(time(NULL), timegm(&tm));
    static const struct { double secs; const char *unit; } steps[] = {
        {365 * 86400.0, "year"}, {30 * 86400.0, "month"}, {7 * 86400.0, "week"},
        {86400, "day"}, {3600, "hour"}, {60, "minute"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        long n = (long)(s / steps[i].secs);
        if (n >= 1) {
            snprintf(out, len, "%ld %s%s ago", n, steps[i].unit, n > 1 ? "s" : "");
            return;
        }
    }
    snprintf(out, len, "just now");
}

#define NFIELDS 8

typedef struct image_text {
    char repo[SM_IMAGE_NAME_MAX], tag[128], id[16], since[32], size[32], platform[100];
} image_text;

static void platform_of(const sm_image_info *img, char *out, size_t len)
{
    snprintf(out, len, "%s/%s%s%s", img->os[0] ? img->os : "?",
             img->architecture[0] ? img->architecture : "?", img->variant[0] ? "/" : "",
             img->variant);
}

/* An image as --format sees it: docker's repository and tag split the
 * name at its last ':' after its last '/' (a registry's port is not a tag). */
static void fields_of(const sm_image_info *img, sm_cli_field f[NFIELDS], image_text *t)
{
    snprintf(t->repo, sizeof t->repo, "%s", img->name[0] ? img->name : "<none>");
    char *slash = strrchr(t->repo, '/'), *colon = strrchr(t->repo, ':');
    snprintf(t->tag, sizeof t->tag, "<none>");
    if (colon && (!slash || colon > slash)) {
        snprintf(t->tag, sizeof t->tag, "%s", colon + 1);
        *colon = '\0';
    }
    snprintf(t->id, sizeof t->id, "%.12s", img->config_digest[0] ? img->config_digest + 7 : "");
    sm_cli_age(img->created, t->since, sizeof t->since);
    sm_cli_human_size(img->bytes, t->size, sizeof t->size);
    platform_of(img, t->platform, sizeof t->platform);
    sm_cli_field all[NFIELDS] = {
        {"Repository", t->repo}, {"Tag", t->tag}, {"ID", t->id}, {"Digest", img->digest},
        {"CreatedAt", img->created}, {"CreatedSince", t->since}, {"Size", t->size},
        {"Platform", t->platform},
    };
    memcpy(f, all, sizeof all);
}

static void print_row(const sm_image_info *img, int digests)
{
    char size[32], when[32], platform[100], id[16];
    sm_cli_human_size(img->bytes, size, sizeof size);
    sm_cli_age(img->created, when, sizeof when);
    platform_of(img, platform, sizeof platform);
    snprintf(id, sizeof id, "%.12s", img->config_digest[0] ? img->config_digest + 7 : "?");
    printf("%-50s %-12s %-14s %-16s %10s", img->name[0] ? img->name : "<none>", id, platform,
           when, size);
    if (digests)
        printf("  %s", img->digest);
    putchar('\n');
}

int sm_cmd_images(int argc, char **argv)
{
    static const struct option opts[] = {
        {"digests", no_argument, NULL, 'd'},
        {"quiet", no_argument, NULL, 'q'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int o, digests = 0, quiet = 0;
    const char *format = NULL;
    sm_cli_field f[NFIELDS];
    static image_text text;
    static const sm_image_info none;
    while ((o = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (o) {
        case 'd': digests = 1; break;
        case 'q': quiet = 1; break;
        case 'F': format = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("images", "unknown option");
        }
    }
    if (optind != argc)
        return sm_cli_usage_error("images", "takes no arguments");
    fields_of(&none, f, &text);
    if (format && sm_cli_format_check("images", format, f, NFIELDS))
        return SM_CLI_EXIT_FAILURE;
    sm_image_info **list;
    size_t n;
    if (sm_image_list(&list, &n) < 0)
        return sm_cli_fail();
    if (format && !quiet)
        sm_cli_format_header(format, f, NFIELDS);
    else if (!quiet)
        printf("%-50s %-12s %-14s %-16s %10s%s\n", "NAME", "IMAGE ID", "PLATFORM", "CREATED",
               "SIZE", digests ? "  DIGEST" : "");
    for (size_t i = 0; i < n; i++) {
        if (quiet) {
            puts(list[i]->name[0] ? list[i]->name : list[i]->digest);
        } else if (format) {
            fields_of(list[i], f, &text);
            sm_cli_format_row(format, f, NFIELDS);
        } else {
            print_row(list[i], digests);
        }
    }
    sm_image_list_free(list, n);
    return 0;
}
