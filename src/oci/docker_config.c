#include "oci/docker_config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/error.h"

static void config_path(char *out, size_t len)
{
    const char *dir = getenv("DOCKER_CONFIG");
    if (dir && *dir)
        snprintf(out, len, "%s/config.json", dir);
    else
        snprintf(out, len, "%s/.docker/config.json", getenv("HOME") ? getenv("HOME") : "");
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int wrong_type(const char *path, const char *where, const json_t *v, const char *want)
{
    return sm_fail(EINVAL, "Docker's config file '%s' is invalid: %s is %s, not %s", path,
                   where, type_name(v), want);
}

/* Absent, or of the type wanted. */
static int check(const char *path, const char *where, const json_t *v, json_type want,
                 const char *want_name)
{
    return !v || json_typeof(v) == want ? 0 : wrong_type(path, where, v, want_name);
}

/* "auths": {"<registry>": {"auth": "...", "username": "...", ...}} */
static int check_auths(const char *path, json_t *auths)
{
    static const char *const fields[] = {"auth", "username", "password", "identitytoken"};
    const char *key;
    json_t *e;
    char where[512];
    json_object_foreach(auths, key, e) {
        snprintf(where, sizeof where, "\"auths\" entry \"%.200s\"", key);
        int err = check(path, where, e, JSON_OBJECT, "an object");
        for (size_t i = 0; !err && i < sizeof fields / sizeof *fields; i++) {
            snprintf(where, sizeof where, "\"%s\" of \"auths\" entry \"%.200s\"", fields[i], key);
            err = check(path, where, json_object_get(e, fields[i]), JSON_STRING, "a string");
        }
        if (err)
            return err;
    }
    return 0;
}

static int check_helpers(const char *path, json_t *helpers)
{
    const char *key;
    json_t *e;
    char where[512];
    json_object_foreach(helpers, key, e) {
        snprintf(where, sizeof where, "\"credHelpers\" entry \"%.200s\"", key);
        int err = check(path, where, e, JSON_STRING, "a string (a helper's name)");
        if (err)
            return err;
    }
    return 0;
}

static int check_shape(const char *path, json_t *root)
{
    json_t *auths = json_object_get(root, "auths");
    json_t *helpers = json_object_get(root, "credHelpers");
    int err = check(path, "the whole file", root, JSON_OBJECT, "an object");
    if (!err)
        err = check(path, "\"auths\"", auths, JSON_OBJECT, "an object");
    if (!err)
        err = check(path, "\"credHelpers\"", helpers, JSON_OBJECT, "an object");
    if (!err)
        err = check(path, "\"credsStore\"", json_object_get(root, "credsStore"), JSON_STRING,
                    "a string (a helper's name)");
    if (!err)
        err = check_auths(path, auths);
    if (!err)
        err = check_helpers(path, helpers);
    return err;
}

/* No file, or an empty one (as some tools leave): nothing configured. */
static bool nothing_there(const char *path, int *err)
{
    struct stat st;
    *err = 0;
    if (stat(path, &st) == 0)
        return S_ISREG(st.st_mode) && st.st_size == 0;
    if (errno == ENOENT || errno == ENOTDIR)
        return true;
    *err = sm_fail(errno, "cannot read Docker's config file '%s': %s", path, strerror(errno));
    return false;
}

int sm_docker_config_load(char *path, size_t len, json_t **out)
{
    *out = NULL;
    config_path(path, len);
    int err;
    if (nothing_there(path, &err) || err)
        return err;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root && jerr.line < 0)   /* jansson could not read it at all */
        return sm_fail(EIO, "cannot read Docker's config file '%s': %s", path, jerr.text);
    if (!root)
        return sm_fail(EINVAL, "Docker's config file '%s' is not valid JSON at line %d, "
                       "column %d: %s", path, jerr.line, jerr.column, jerr.text);
    if ((err = check_shape(path, root)) < 0) {
        json_decref(root);
        return err;
    }
    *out = root;
    return 0;
}
