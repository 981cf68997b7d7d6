/* state, list and ps: what the runtime knows of its containers. */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci-runtime/runtime.h"
#include "oci-runtime/state.h"

static void print_json(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
}

int sm_oci_cmd_state(const sm_oci_globals *g, int argc, char **argv)
{
    const char *id = sm_oci_id_arg(g, argc, argv, 1, false);
    sm_oci_state st = {0};
    if (!id || sm_oci_state_open(g, id, &st))
        return 1;
    json_t *o = sm_oci_state_json(&st, sm_oci_status(&st));
    print_json(o);
    json_decref(o);
    sm_oci_state_free(&st);
    return 0;
}

/* "table" or "json" from -f/--format. */
static int format_opt(const sm_oci_globals *g, int argc, char **argv, bool *json, bool *quiet)
{
    static const struct option longs[] = {{"format", required_argument, NULL, 'f'},
                                          {"quiet", no_argument, NULL, 'q'},
                                          {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f:q", longs, NULL)) != -1) {
        if (c == 'f' && strcmp(optarg, "json") && strcmp(optarg, "table"))
            return sm_oci_fail(g, "%s: unknown format '%s' (table or json)", argv[0], optarg),
                   -1;
        if (c == 'f')
            *json = !strcmp(optarg, "json");
        else if (c == 'q' && quiet)
            *quiet = true;
        else if (c == '?')
            return sm_oci_fail(g, "%s: unknown option %s", argv[0], argv[optind - 1]), -1;
    }
    return optind;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int skip_dots(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int sm_oci_cmd_list(const sm_oci_globals *g, int argc, char **argv)
{
    bool json = false, quiet = false;
    if (format_opt(g, argc, argv, &json, &quiet) < 0)
        return 1;
    struct dirent **names;
    int n = scandir(g->root, &names, skip_dots, by_name);
    json_t *all = json_array();
    if (!json && !quiet)
        printf("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    for (int i = 0; i < n; i++) {
        sm_oci_state st = {0};
        if (sm_oci_state_read(g, names[i]->d_name, &st) == 0) {
            const char *status = sm_oci_status(&st);
            if (json)
                json_array_append_new(all, sm_oci_state_json(&st, status));
            else if (quiet)
                printf("%s\n", st.id);
            else
                printf("%-20s %-8d %-10s %-40s %s\n", st.id, strcmp(status, "stopped") ? st.pid : 0,
                       status, st.bundle, st.created);
        }
        sm_oci_state_free(&st);
        free(names[i]);
    }
    if (n >= 0)
        free(names);
    if (json)
        print_json(all);
    json_decref(all);
    return 0;
}

/* The host processes that stand for the container's: its keeper. */
int sm_oci_cmd_ps(const sm_oci_globals *g, int argc, char **argv)
{
    bool json = false;
    int i = format_opt(g, argc, argv, &json, NULL);
    const char *id = i < 0 ? NULL : sm_oci_id_arg(g, argc, argv, i, true);
    sm_oci_state st = {0};
    if (!id || sm_oci_state_open(g, id, &st))
        return 1;
    bool alive = sm_oci_keeper_alive(&st);
    if (json)
        alive ? printf("[%d]\n", st.pid) : printf("[]\n");
    else if (alive)
        printf("PID\n%d\n", st.pid);
    sm_oci_state_free(&st);
    return 0;
}
