/* supermachine history: the build steps of a stored image, newest first. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/format.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine history [OPTIONS] IMAGE\n\n"
            "Show the steps that built IMAGE, newest first, as its config records\n"
            "them. SIZE is the step's layer as stored (compressed, as pulled); steps\n"
            "that changed no files have none.\n\n"
            "Options:\n"
            "  --no-trunc   show whole commands and IDs\n"
            "  -H, --human=false  sizes in bytes and times in RFC 3339\n"
            "  -q, --quiet  print only the IDs\n"
            "  --format F   each step as F: json, or a template such as\n"
            "               '{{.CreatedBy}}' ('table F' adds a header); fields:\n"
            "               ID CreatedAt CreatedSince CreatedBy Size Comment\n"
            "  -h, --help   show this help\n");
}

#define NFIELDS 6

typedef struct step_text {
    char id[80], since[32], size[32], by[4096];
} step_text;

typedef struct history_opts {
    int no_trunc, human, quiet;
    const char *format;
} history_opts;

/* docker shows the image's ID on the newest step and <missing> on the
 * others, whose intermediate images a pulled image does not have. */
static void fields_of(const sm_image_info *img, size_t i, const history_opts *o,
                      sm_cli_field f[NFIELDS], step_text *t)
{
    const sm_image_history *h = &img->history[i];
    const char *id = img->config_digest[0] ? img->config_digest : "";
    if (i + 1 != img->history_count)
        snprintf(t->id, sizeof t->id, "<missing>");
    else
        snprintf(t->id, sizeof t->id, o->no_trunc ? "%s" : "%.12s",
                 o->no_trunc ? id : id + (strlen(id) > 7 ? 7 : 0));
    if (o->human)
        sm_cli_age(h->created ? h->created : "", t->since, sizeof t->since);
    else
        snprintf(t->since, sizeof t->since, "%s", h->created ? h->created : "-");
    if (o->human)
        sm_cli_human_size(h->size, t->size, sizeof t->size);
    else
        snprintf(t->size, sizeof t->size, "%llu", (unsigned long long)h->size);
    const char *by = h->created_by ? h->created_by : "";
    if (!o->no_trunc && !o->format && strlen(by) > 45)
        snprintf(t->by, sizeof t->by, "%.44s…", by);
    else
        snprintf(t->by, sizeof t->by, "%s", by);
    sm_cli_field all[NFIELDS] = {
        {"ID", t->id}, {"CreatedAt", h->created ? h->created : ""},
        {"CreatedSince", t->since}, {"CreatedBy", t->by}, {"Size", t->size},
        {"Comment", h->comment ? h->comment : ""},
    };
    memcpy(f, all, sizeof all);
}

static void print_steps(const sm_image_info *img, const history_opts *o, sm_cli_field *f)
{
    step_text t;
    if (o->format && !o->quiet)
        sm_cli_format_header(o->format, f, NFIELDS);
    else if (!o->quiet)
        printf("%-12s  %-16s  %-46s  %-10s  %s\n", "IMAGE", "CREATED", "CREATED BY", "SIZE",
               "COMMENT");
    for (size_t i = img->history_count; i-- > 0;) {
        fields_of(img, i, o, f, &t);
        if (o->quiet)
            puts(f[0].value);
        else if (o->format)
            sm_cli_format_row(o->format, f, NFIELDS);
        else
            printf("%-12s  %-16s  %-46s  %-10s  %s\n", f[0].value, f[2].value, f[3].value,
                   f[4].value, f[5].value);
    }
}

static int parse(int argc, char **argv, history_opts *o)
{
    static const struct option opts[] = {
        {"no-trunc", no_argument, NULL, 'n'}, {"human", optional_argument, NULL, 'H'},
        {"quiet", no_argument, NULL, 'q'},    {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},     {0},
    };
    int c;
    *o = (history_opts){.human = 1};
    while ((c = getopt_long(argc, argv, "qHh", opts, NULL)) != -1) {
        switch (c) {
        case 'n': o->no_trunc = 1; break;
        case 'H': o->human = !optarg || strcmp(optarg, "false"); break;
        case 'q': o->quiet = 1; break;
        case 'F': o->format = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return sm_cli_usage_error("history", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return sm_cli_usage_error("history", "name one image");
    return -1;
}

int sm_cmd_history(int argc, char **argv)
{
    history_opts o;
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    sm_cli_field f[NFIELDS];
    step_text t;
    static const sm_image_history blank;
    const sm_image_info probe = {.history = (sm_image_history *)&blank, .history_count = 1};
    fields_of(&probe, 0, &o, f, &t);
    if (o.format && sm_cli_format_check("history", o.format, f, NFIELDS))
        return SM_CLI_EXIT_FAILURE;
    sm_image_info *img;
    if (sm_image_inspect(argv[optind], &img) < 0)
        return sm_cli_fail();
    print_steps(img, &o, f);
    sm_image_info_free(img);
    return 0;
}
