/* supermachine inspect: describe stored images as JSON. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine inspect IMAGE...\n\n"
            "Print what the local store knows about each IMAGE (a name, a digest, or\n"
            "a unique prefix of its ID) as a JSON list: digests, platform, layers and\n"
            "the config that 'run' uses.\n\n"
            "Options:\n"
            "  -h, --help   show this help\n");
}

/* null for an unset field, as Docker prints it. */
static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *list_or_null(char **v)
{
    if (!v)
        return json_null();
    json_t *a = json_array();
    for (; *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static json_t *config_json(const sm_image_info *img)
{
    json_t *ports = json_object(), *labels = json_object();
    for (char **p = img->exposed_ports; p && *p; p++)
        json_object_set_new(ports, *p, json_object());
    for (size_t i = 0; i < img->label_count; i++)
        json_object_set_new(labels, img->labels[i].key, json_string(img->labels[i].value));
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
                     "Entrypoint", list_or_null(img->entrypoint), "Cmd", list_or_null(img->cmd),
                     "Env", list_or_null(img->env), "WorkingDir", str_or_null(img->working_dir),
                     "User", str_or_null(img->user), "ExposedPorts", ports,
                     "StopSignal", str_or_null(img->stop_signal), "Labels", labels);
}

static json_t *layers_json(const sm_image_info *img)
{
    json_t *a = json_array();
    for (size_t i = 0; i < img->layer_count; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:I}", "Digest", img->layers[i].digest,
                                           "MediaType", img->layers[i].media_type, "Size",
                                           (json_int_t)img->layers[i].size));
    return a;
}

static json_t *image_json(const sm_image_info *img)
{
    return json_pack("{s:s?,s:s,s:s,s:s?,s:s,s:s,s:s,s:s?,s:s?,s:I,s:I,s:o,s:o}",
                     "Name", img->name[0] ? img->name : NULL, "Id", img->config_digest,
                     "Digest", img->digest, "IndexDigest",
                     img->index_digest[0] ? img->index_digest : NULL,
                     "MediaType", img->media_type, "Os", img->os,
                     "Architecture", img->architecture,
                     "Variant", img->variant[0] ? img->variant : NULL,
                     "Created", img->created[0] ? img->created : NULL,
                     "Size", (json_int_t)img->size, "Stored", (json_int_t)img->stored,
                     "Layers", layers_json(img), "Config", config_json(img));
}

int sm_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'h') {
            usage(stdout);
            return 0;
        }
        return sm_cli_usage_error("inspect", "unknown option");
    }
    if (optind == argc)
        return sm_cli_usage_error("inspect", "name the image to inspect");
    json_t *all = json_array();
    for (int i = optind; i < argc; i++) {
        sm_image_info *img;
        if (sm_image_inspect(argv[i], &img) < 0) {
            json_decref(all);
            return sm_cli_fail();
        }
        json_array_append_new(all, image_json(img));
        sm_image_info_free(img);
    }
    char *text = json_dumps(all, JSON_INDENT(4));
    puts(text ? text : "[]");
    free(text);
    json_decref(all);
    return 0;
}
