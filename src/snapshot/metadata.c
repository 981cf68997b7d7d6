#include "snapshot/metadata.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/file.h"
#include "persist/state_file.h"
#include "util/error.h"

static int format_time(int64_t t, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return sm_fail(EINVAL, "snapshot creation time %lld is out of range", (long long)t);
    return 0;
}

static int parse_time(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        return sm_fail(EPROTO, "snapshot metadata: \"created\" is not an RFC 3339 UTC "
                       "time: %s", s);
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int check_fields(const sm_snap_meta *m)
{
    if (!m->image_ref[0] != !m->manifest_digest[0] || !m->kernel_id[0] ||
        !m->init_id[0] || !m->fingerprint[0])
        return sm_fail(EINVAL, "snapshot metadata is missing an image digest, kernel, "
                       "init or fingerprint");
    if (!m->memory_mib || !m->vcpus)
        return sm_fail(EINVAL, "snapshot metadata needs non-zero memory and vCPUs");
    return 0;
}

int sm_snap_meta_write(const char *path, const sm_snap_meta *m)
{
    char created[32];
    int rc = check_fields(m);
    if (rc == 0)
        rc = format_time(m->created, created, sizeof created);
    if (rc < 0)
        return rc;
    json_t *o = json_pack("{s:i, s:s?, s:s?, s:s, s:s, s:i, s:i, s:s?, s:s, s:s, s:s?, s:i, "
                          "s:s?}",
        "format_version", (json_int_t)SM_SNAP_FORMAT_VERSION,
        "image", m->image_ref[0] ? m->image_ref : NULL,
        "manifest_digest", m->manifest_digest[0] ? m->manifest_digest : NULL,
        "kernel_id", m->kernel_id, "init_id", m->init_id,
        "memory_mib", (json_int_t)m->memory_mib, "vcpus", (json_int_t)m->vcpus,
        "parent", m->parent[0] ? m->parent : NULL,
        "created", created, "fingerprint", m->fingerprint,
        "kind", m->kind[0] ? m->kind : NULL, "main_pid", (json_int_t)m->main_pid,
        "command", m->command[0] ? m->command : NULL);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!text)
        return sm_fail(ENOMEM, "cannot encode snapshot metadata");
    size_t len = strlen(text);
    text[len] = '\n';  /* the NUL's byte becomes the final newline */
    rc = sm_file_write_atomic(path, text, len + 1, 0600);
    free(text);
    return rc;
}

static int get_str(json_t *o, const char *key, char *out, size_t size, int optional)
{
    json_t *v = json_object_get(o, key);
    if ((!v || json_is_null(v)) && optional) {
        out[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return sm_fail(EPROTO, "snapshot metadata: \"%s\" is missing or not a string", key);
    if (json_string_length(v) >= size || strlen(json_string_value(v)) != json_string_length(v))
        return sm_fail(EPROTO, "snapshot metadata: \"%s\" is too long or has a NUL", key);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_u32(json_t *o, const char *key, uint32_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        json_integer_value(v) > UINT32_MAX)
        return sm_fail(EPROTO, "snapshot metadata: \"%s\" is missing or not a positive "
                       "integer", key);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

/* Optional: 0 (or absent) when no process was kept running. */
static int get_pid(json_t *o, uint32_t *out)
{
    json_t *v = json_object_get(o, "main_pid");
    *out = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > INT32_MAX)
        return sm_fail(EPROTO, "snapshot metadata: \"main_pid\" is not a process id");
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int decode(json_t *o, sm_snap_meta *m)
{
    char created[64];
    int rc = get_u32(o, "format_version", &m->format_version);
    if (rc == 0 && m->format_version != SM_SNAP_FORMAT_VERSION)
        return sm_fail(EPROTONOSUPPORT, "snapshot has format version %u but this "
                       "supermachine reads version %u: the snapshot was made by another "
                       "version and must be baked again", m->format_version,
                       SM_SNAP_FORMAT_VERSION);
    if (rc == 0) rc = get_str(o, "image", m->image_ref, sizeof m->image_ref, 1);
    if (rc == 0) rc = get_str(o, "manifest_digest", m->manifest_digest,
                              sizeof m->manifest_digest, 1);
    if (rc == 0) rc = get_str(o, "kind", m->kind, sizeof m->kind, 1);
    if (rc == 0) rc = get_pid(o, &m->main_pid);
    if (rc == 0) rc = get_str(o, "command", m->command, sizeof m->command, 1);
    if (rc == 0) rc = get_str(o, "kernel_id", m->kernel_id, sizeof m->kernel_id, 0);
    if (rc == 0) rc = get_str(o, "init_id", m->init_id, sizeof m->init_id, 0);
    if (rc == 0) rc = get_u32(o, "memory_mib", &m->memory_mib);
    if (rc == 0) rc = get_u32(o, "vcpus", &m->vcpus);
    if (rc == 0) rc = get_str(o, "parent", m->parent, sizeof m->parent, 1);
    if (rc == 0) rc = get_str(o, "fingerprint", m->fingerprint, sizeof m->fingerprint, 0);
    if (rc == 0) rc = get_str(o, "created", created, sizeof created, 0);
    if (rc == 0) rc = parse_time(created, &m->created);
    return rc;
}

int sm_snap_meta_read(const char *path, sm_snap_meta *m)
{
    json_error_t err;
    memset(m, 0, sizeof *m);
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!o)
        return sm_fail(EPROTO, "cannot read snapshot metadata %s: %s (line %d)", path,
                       err.text, err.line);
    int rc = json_is_object(o) ? decode(o, m)
                               : sm_fail(EPROTO, "snapshot metadata is not a JSON object");
    json_decref(o);
    return rc < 0 ? sm_fail_context(rc, "%s", path) : 0;
}
