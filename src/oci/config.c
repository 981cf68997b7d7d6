#include "oci/config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

/* A JSON list of strings as a NULL-terminated array; NULL when absent or
 * null, which the image distinguishes from an empty list. */
static int string_list(json_t *arr, const char *field, const char *what, char ***out)
{
    *out = NULL;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return sm_fail(EBADMSG, "%s is malformed: %s is not a list", what, field);
    char **v = calloc(json_array_size(arr) + 1, sizeof *v);
    if (!v)
        return sm_fail(ENOMEM, "out of memory reading %s", what);
    *out = v;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s)
            return sm_fail(EBADMSG, "%s is malformed: %s holds a non-string", what, field);
        if (!(v[i] = strdup(s)))
            return sm_fail(ENOMEM, "out of memory reading %s", what);
    }
    return 0;
}

/* ExposedPorts is an object whose keys are the ports. */
static int key_list(json_t *obj, const char *field, const char *what, char ***out)
{
    *out = NULL;
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return sm_fail(EBADMSG, "%s is malformed: %s is not an object", what, field);
    char **v = calloc(json_object_size(obj) + 1, sizeof *v);
    if (!v)
        return sm_fail(ENOMEM, "out of memory reading %s", what);
    *out = v;
    const char *key;
    json_t *val;
    size_t i = 0;
    json_object_foreach(obj, key, val) {
        if (!(v[i++] = strdup(key)))
            return sm_fail(ENOMEM, "out of memory reading %s", what);
    }
    return 0;
}

static int labels(json_t *obj, const char *what, sm_oci_info *info)
{
    if (!obj || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return sm_fail(EBADMSG, "%s is malformed: Labels is not an object", what);
    info->labels = calloc(json_object_size(obj) + 1, sizeof *info->labels);
    if (!info->labels)
        return sm_fail(ENOMEM, "out of memory reading %s", what);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        sm_oci_info_label *l = &info->labels[info->label_count++];
        const char *s = json_string_value(val);
        l->key = strdup(key);
        l->value = strdup(s ? s : "");
        if (!l->key || !l->value)
            return sm_fail(ENOMEM, "out of memory reading %s", what);
    }
    return 0;
}

/* A string field, NULL when absent or empty: "" means "not set" to Docker. */
static int string_field(json_t *v, char **out)
{
    const char *s = json_string_value(v);
    *out = NULL;
    if (!s || !*s)
        return 0;
    return (*out = strdup(s)) ? 0 : sm_fail(ENOMEM, "out of memory reading an image config");
}

static void copy(char *dst, size_t len, json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(dst, len, "%s", s ? s : "");
}

static int run_config(json_t *c, const char *what, sm_oci_info *info)
{
    if (c && !json_is_null(c) && !json_is_object(c))
        return sm_fail(EBADMSG, "%s is malformed: config is not an object", what);
    int err = string_list(json_object_get(c, "Entrypoint"), "Entrypoint", what, &info->entrypoint);
    if (!err)
        err = string_list(json_object_get(c, "Cmd"), "Cmd", what, &info->cmd);
    if (!err)
        err = string_list(json_object_get(c, "Env"), "Env", what, &info->env);
    if (!err)
        err = key_list(json_object_get(c, "ExposedPorts"), "ExposedPorts", what,
                       &info->exposed_ports);
    if (!err)
        err = string_field(json_object_get(c, "WorkingDir"), &info->working_dir);
    if (!err)
        err = string_field(json_object_get(c, "User"), &info->user);
    if (!err)
        err = string_field(json_object_get(c, "StopSignal"), &info->stop_signal);
    if (!err)
        err = labels(json_object_get(c, "Labels"), what, info);
    return err;
}

/* History only describes the build; a malformed one is left out rather
 * than making the image unusable. */
static int history_entry(json_t *h, sm_oci_info_history *out)
{
    out->empty_layer = json_is_true(json_object_get(h, "empty_layer"));
    int err = string_field(json_object_get(h, "created"), &out->created);
    if (!err)
        err = string_field(json_object_get(h, "created_by"), &out->created_by);
    if (!err)
        err = string_field(json_object_get(h, "comment"), &out->comment);
    return err;
}

static int history(json_t *arr, sm_oci_info *info)
{
    if (!json_is_array(arr))
        return 0;
    info->history = calloc(json_array_size(arr) + 1, sizeof *info->history);
    if (!info->history)
        return sm_fail(ENOMEM, "out of memory reading an image's history");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *h = json_array_get(arr, i);
        if (json_is_object(h) && history_entry(h, &info->history[info->history_count++]))
            return -ENOMEM;
    }
    return 0;
}

static int load(const char *data, size_t len, const char *what, json_t **out)
{
    json_error_t jerr;
    *out = json_loadb(data, len, 0, &jerr);
    if (!*out)
        return sm_fail(EBADMSG, "%s is not valid JSON (%s, at line %d)", what, jerr.text,
                       jerr.line);
    if (!json_is_object(*out)) {
        json_decref(*out);
        return sm_fail(EBADMSG, "%s is not a JSON object", what);
    }
    return 0;
}

int sm_image_config_parse(const char *data, size_t len, const char *what,
                          sm_oci_info *info)
{
    json_t *root;
    int err = load(data, len, what, &root);
    if (err)
        return err;
    copy(info->os, sizeof info->os, json_object_get(root, "os"));
    copy(info->architecture, sizeof info->architecture, json_object_get(root, "architecture"));
    copy(info->variant, sizeof info->variant, json_object_get(root, "variant"));
    copy(info->created, sizeof info->created, json_object_get(root, "created"));
    err = run_config(json_object_get(root, "config"), what, info);
    if (!err)
        err = history(json_object_get(root, "history"), info);
    json_decref(root);
    if (err)
        sm_image_config_clear(info);
    return err;
}

int sm_image_config_diff_ids(const char *data, size_t len, const char *what,
                             char (**out)[SM_DIGEST_STR], size_t *count)
{
    json_t *root;
    int err = load(data, len, what, &root);
    if (err)
        return err;
    json_t *ids = json_object_get(json_object_get(root, "rootfs"), "diff_ids");
    size_t n = json_array_size(ids);
    *out = calloc(n + 1, sizeof **out);
    *count = 0;
    if (!*out)
        err = sm_fail(ENOMEM, "out of memory reading %s", what);
    for (size_t i = 0; !err && i < n; i++) {
        const char *s = json_string_value(json_array_get(ids, i));
        if (!sm_digest_valid(s))
            err = sm_fail(EBADMSG, "%s is malformed: diff_id %zu is not a sha256 digest",
                          what, i + 1);
        else
            snprintf((*out)[(*count)++], SM_DIGEST_STR, "%s", s);
    }
    json_decref(root);
    if (err) {
        free(*out);
        *out = NULL;
    }
    return err;
}

static void free_list(char ***list)
{
    for (char **p = *list; p && *p; p++)
        free(*p);
    free(*list);
    *list = NULL;
}

void sm_image_config_clear(sm_oci_info *info)
{
    free_list(&info->entrypoint);
    free_list(&info->cmd);
    free_list(&info->env);
    free_list(&info->exposed_ports);
    free(info->working_dir);
    free(info->user);
    free(info->stop_signal);
    info->working_dir = info->user = info->stop_signal = NULL;
    for (size_t i = 0; i < info->label_count; i++) {
        free(info->labels[i].key);
        free(info->labels[i].value);
    }
    free(info->labels);
    info->labels = NULL;
    info->label_count = 0;
    for (size_t i = 0; i < info->history_count; i++) {
        free(info->history[i].created);
        free(info->history[i].created_by);
        free(info->history[i].comment);
    }
    free(info->history);
    info->history = NULL;
    info->history_count = 0;
}
