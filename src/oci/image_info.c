#include "oci/image_info.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config.h"
#include "oci/manifest.h"
#include "util/error.h"

static int read_manifest(const sm_store *s, const char *digest, const char *name, sm_manifest *m)
{
    char *data, what[SM_REF_STR_MAX + 32];
    size_t len;
    snprintf(what, sizeof what, "the manifest of %s", name);
    int err = sm_store_read_blob(s, digest, SM_MANIFEST_MAX, &data, &len);
    if (!err) {
        err = sm_manifest_parse(data, len, NULL, what, m);
        free(data);
    }
    if (!err && m->kind != SM_MEDIA_MANIFEST) {
        sm_manifest_free(m);
        err = sm_fail(EBADMSG, "%s is an index, not an image manifest", what);
    }
    return err;
}

static int fill_layers(const sm_manifest *m, sm_oci_info *info)
{
    info->layers = calloc(m->count + 1, sizeof *info->layers);
    if (!info->layers)
        return sm_fail(ENOMEM, "out of memory");
    info->size = (uint64_t)m->config.size;
    for (size_t i = 0; i < m->count; i++) {
        sm_oci_info_layer *l = &info->layers[i];
        snprintf(l->digest, sizeof l->digest, "%s", m->items[i].digest);
        snprintf(l->media_type, sizeof l->media_type, "%s", m->items[i].media_type);
        l->size = (uint64_t)m->items[i].size;
        info->size += l->size;
    }
    info->layer_count = m->count;
    return 0;
}

static int fill_config(const sm_store *s, const sm_manifest *m, const char *name,
                       sm_oci_info *info)
{
    char *data, what[SM_REF_STR_MAX + 32];
    size_t len;
    snprintf(what, sizeof what, "the config of %s", name);
    int err = sm_store_read_blob(s, m->config.digest, SM_CONFIG_MAX, &data, &len);
    if (!err) {
        err = sm_image_config_parse(data, len, what, info);
        free(data);
    }
    return err;
}

/* The history's steps that made files own the layers, in order. A config
 * whose count disagrees with the manifest (hand-made images do this) gets
 * no sizes rather than wrong ones. */
static void history_sizes(sm_oci_info *info)
{
    size_t made = 0;
    for (size_t i = 0; i < info->history_count; i++)
        made += !info->history[i].empty_layer;
    if (made != info->layer_count)
        return;
    for (size_t i = 0, l = 0; i < info->history_count; i++)
        if (!info->history[i].empty_layer)
            info->history[i].size = info->layers[l++].size;
}

int sm_image_info_load(const sm_store *s, const sm_index_entry *e, sm_oci_info **out)
{
    sm_oci_info *info = calloc(1, sizeof *info);
    if (!info)
        return sm_fail(ENOMEM, "out of memory");
    bool unnamed = !strcmp(e->name, e->manifest);
    snprintf(info->name, sizeof info->name, "%s", unnamed ? "" : e->name);
    snprintf(info->digest, sizeof info->digest, "%s", e->manifest);
    snprintf(info->index_digest, sizeof info->index_digest, "%s", e->index);
    info->stored = e->stored;
    sm_manifest m;
    int err = read_manifest(s, e->manifest, e->name, &m);
    if (err) {
        free(info);
        return err;
    }
    snprintf(info->media_type, sizeof info->media_type, "%s", m.media_type);
    snprintf(info->config_digest, sizeof info->config_digest, "%s", m.config.digest);
    err = fill_layers(&m, info);
    if (!err)
        err = fill_config(s, &m, e->name, info);
    if (!err)
        history_sizes(info);
    sm_manifest_free(&m);
    if (err)
        sm_oci_info_free(info);
    else
        *out = info;
    return err;
}

void sm_oci_info_free(sm_oci_info *info)
{
    if (!info)
        return;
    sm_image_config_clear(info);
    free(info->layers);
    free(info);
}

/* "sha256:abcd", "abcd...": 4 to 64 hex digits, maybe after "sha256:". */
static const char *id_prefix(const char *s)
{
    if (!strncmp(s, "sha256:", 7))
        s += 7;
    size_t n = strspn(s, "0123456789abcdef");
    return n >= 4 && n <= 64 && !s[n] ? s : NULL;
}

static bool config_matches(const sm_store *s, const sm_index_entry *e, const char *prefix)
{
    sm_manifest m;
    if (read_manifest(s, e->manifest, e->name, &m) < 0)
        return false;
    bool hit = !strncmp(sm_digest_hex(m.config.digest), prefix, strlen(prefix));
    sm_manifest_free(&m);
    return hit;
}

/* Keep the entries whose image has the ID `prefix`; all must be one image. */
static int by_id(const sm_store *s, const char *reference, const char *prefix,
                 sm_index_entry *e, size_t *count)
{
    size_t n = 0;
    for (size_t i = 0; i < *count; i++)
        if (!strncmp(sm_digest_hex(e[i].manifest), prefix, strlen(prefix)) ||
            config_matches(s, &e[i], prefix))
            e[n++] = e[i];
    for (size_t i = 1; i < n; i++)
        if (strcmp(e[i].manifest, e[0].manifest))
            return sm_fail(EINVAL, "'%s' matches more than one image; give more of its digest",
                           reference);
    *count = n;
    return 0;
}

static int not_found(const char *reference)
{
    return sm_fail(ENOENT, "no image '%s' in the store; pull it with 'supermachine pull %s'",
                   reference, reference);
}

int sm_image_lookup(const sm_store *s, const char *reference, sm_index_entry **out,
                    size_t *count)
{
    sm_index_entry *e;
    size_t n;
    int err = sm_index_load(s, &e, &n);
    if (err)
        return err;
    sm_ref ref;
    char name[SM_REF_STR_MAX];
    const char *prefix = id_prefix(reference);
    if (sm_ref_parse(reference, &ref) == 0) {
        sm_ref_string(&ref, name, sizeof name);
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(e[i].name, name)) {
                e[0] = e[i];
                *out = e, *count = 1;
                return 0;
            }
        }
    }
    if (!prefix) {
        free(e);
        return not_found(reference);
    }
    err = by_id(s, reference, prefix, e, &n);
    if (!err && !n)
        err = not_found(reference);
    if (err) {
        free(e);
        return err;
    }
    *out = e, *count = n;
    return 0;
}
