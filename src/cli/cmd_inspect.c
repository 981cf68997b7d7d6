/* supermachine inspect: describe VMs and stored images as JSON. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/format_json.h"
#include "supermachine.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine inspect [-f FORMAT] VM|IMAGE...\n\n"
            "Print each VM (its record: image, command, ports, state, exit code) or,\n"
            "when no VM has that name or id, what the local store knows about IMAGE\n"
            "(a name, a digest, or a unique prefix of its ID: digests, platform,\n"
            "layers and the config that 'run' uses), as a JSON list.\n\n"
            "Options:\n"
            "  -f, --format F  each as F, a template: '{{.State.Status}}',\n"
            "                  '{{json .Config}}', '{{index .Config.Labels \"k\"}}'\n"
            "  -h, --help      show this help\n");
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
                     "Size", (json_int_t)img->bytes, "Stored", (json_int_t)img->stored,
                     "Layers", layers_json(img), "Config", config_json(img));
}

static json_t *vm_json(const sm_vm_info *v)
{
    const char *status = v->running ? "running" : v->never_started ? "created" : "exited";
    return json_pack("{s:s,s:s?,s:s,s:s,s:s,s:I,s:{s:s,s:b,s:i},s:b}", "Id", v->id,
                     "Name", v->name[0] ? v->name : NULL, "Image", v->image,
                     "Command", v->command, "Ports", v->ports, "Created", (json_int_t)v->created,
                     "State", "Status", status, "Running",
                     v->running, "ExitCode", v->exit_status, "Detached", v->detached);
}

/* docker inspect looks for a container first, then an image. */
static json_t *inspect_one(const char *name)
{
    sm_vm *vm;
    sm_vm_info info;
    if (sm_vm_open(name, &vm) == 0) {
        sm_vm_release(vm);
        return sm_cli_vm_info(name, &info) == 0 ? vm_json(&info) : NULL;
    }
    sm_image_info *img;
    if (sm_image_inspect(name, &img) < 0) {
        sm_cli_fail();
        return NULL;
    }
    json_t *j = image_json(img);
    sm_image_info_free(img);
    return j;
}

/* Every object through the template before any is printed: a field one
 * lacks fails the command with nothing half written, as docker does. */
static int print_formatted(const char *tmpl, json_t *all)
{
    char err[512];
    size_t i;
    json_t *one;
    json_array_foreach(all, i, one) {
        if (sm_cli_format_json(tmpl, one, stdout, err, sizeof err) < 0) {
            fflush(stdout);
            fprintf(stderr, "supermachine: inspect --format: %s\n", err);
            return SM_CLI_EXIT_FAILURE;
        }
    }
    return 0;
}

int sm_cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
    const char *format = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
        if (o == 'h') {
            usage(stdout);
            return 0;
        }
        if (o == 'f') {
            format = optarg;
            continue;
        }
        return sm_cli_usage_error("inspect", "unknown option");
    }
    if (optind == argc)
        return sm_cli_usage_error("inspect", "name the VM or image to inspect");
    json_t *all = json_array();
    for (int i = optind; i < argc; i++) {
        json_t *one = inspect_one(argv[i]);
        if (!one) {
            json_decref(all);
            return SM_CLI_EXIT_FAILURE;
        }
        json_array_append_new(all, one);
    }
    if (format) {
        int rc = print_formatted(format, all);
        json_decref(all);
        return rc;
    }
    char *text = json_dumps(all, JSON_INDENT(4));
    puts(text ? text : "[]");
    free(text);
    json_decref(all);
    return 0;
}
