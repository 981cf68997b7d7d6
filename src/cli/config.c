#include "cli/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Read once per process: the CLI is one command, and its options need it. */
static sm_cli_config config;
static json_t *config_json;
static int config_state;   /* 0 unread, 1 good, -1 bad */

static void find_path(char *out, size_t len)
{
    const char *env = getenv("SUPERMACHINE_CONFIG");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (env && *env)
        snprintf(out, len, "%s", env);
    else if (xdg && *xdg == '/')
        snprintf(out, len, "%s/supermachine/config.json", xdg);
    else
        snprintf(out, len, "%s/.config/supermachine/config.json", home ? home : "");
}

static int bad(const char *key, const char *want)
{
    fprintf(stderr, "supermachine: %s: \"%s\" wants %s\n", config.path, key, want);
    return -1;
}

static int choice(json_t *v, const char *key, const char *const *names, int *out)
{
    const char *s = json_string_value(v);
    for (int i = 0; s && names[i]; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    return bad(key, key[0] == 'n' ? "\"user\" or \"none\"" : "\"missing\", \"always\" or \"never\"");
}

static int read_size(json_t *v)
{
    char text[64];
    if (json_is_integer(v))
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(text, sizeof text, "%s", json_string_value(v));
    else
        return bad("memory", "a size such as \"512m\" or a number of MiB");
    if (sm_cli_parse_memory(text, &config.memory_mib))
        return bad("memory", "a size such as \"512m\" or a number of MiB");
    return 0;
}

static int read_cpus(json_t *v)
{
    if (!json_is_number(v) || sm_cli_parse_cpus(json_number_value(v), &config.cpus,
                                                    &config.cpu_quota_milli))
        return bad("cpus", "a number of CPUs from 0.01 to 64");
    return 0;
}

/* A list of at most 16 strings into out (NULL-terminated: it has 17). */
static int read_strings(json_t *v, const char *key, const char *what, const char **out)
{
    size_t i;
    json_t *item;
    if (!json_is_array(v) || json_array_size(v) > SM_CLI_INSECURE_MAX)
        return bad(key, what);
    json_array_foreach(v, i, item) {
        if (!json_is_string(item))
            return bad(key, what);
        out[i] = json_string_value(item);
    }
    return 0;
}

static int read_key(const char *key, json_t *v)
{
    static const char *const nets[] = {"user", "none", NULL};
    static const char *const pulls[] = {"missing", "always", "never", NULL};
    int i = 0, err;
    if (!strcmp(key, "memory"))
        return read_size(v);
    if (!strcmp(key, "cpus"))
        return read_cpus(v);
    if (!strcmp(key, "insecure_registries"))
        return read_strings(v, key, "a list of at most 16 \"host:port\" strings",
                            config.insecure);
    if (!strcmp(key, "registry_mirrors"))
        return read_strings(v, key, "a list of at most 16 URLs (\"https://host[:port]\")",
                            config.mirrors);
    if (!strcmp(key, "network")) {
        err = choice(v, key, nets, &i);
        config.has_network = !err, config.network = i ? SM_NETWORK_NONE : SM_NETWORK_USER;
        return err;
    }
    if (!strcmp(key, "pull")) {
        err = choice(v, key, pulls, &i);
        config.has_pull = !err, config.pull = (sm_pull_policy)i;
        return err;
    }
    fprintf(stderr, "supermachine: %s: unknown key \"%s\" (there are memory, cpus, network, "
            "pull, insecure_registries, registry_mirrors)\n", config.path, key);
    return -1;
}

static int load(void)
{
    find_path(config.path, sizeof config.path);
    json_error_t e;
    FILE *f = fopen(config.path, "re");
    if (!f && errno == ENOENT)
        return 0;
    if (!f) {
        fprintf(stderr, "supermachine: cannot read %s: %s\n", config.path, strerror(errno));
        return -1;
    }
    config_json = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
    fclose(f);
    if (!config_json) {
        fprintf(stderr, "supermachine: %s: line %d, column %d: %s\n", config.path, e.line,
                e.column, e.text);
        return -1;
    }
    if (!json_is_object(config_json)) {
        fprintf(stderr, "supermachine: %s: wants a JSON object of settings\n", config.path);
        return -1;
    }
    config.found = 1;
    const char *key;
    json_t *v;
    json_object_foreach(config_json, key, v) {
        if (read_key(key, v))
            return -1;
    }
    return 0;
}

const sm_cli_config *sm_cli_config_get(void)
{
    if (!config_state)
        config_state = load() ? -1 : 1;
    return config_state > 0 ? &config : NULL;
}
