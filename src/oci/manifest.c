#include "oci/manifest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static void copy(char *dst, size_t len, json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(dst, len, "%s", s ? s : "");
}

static void read_annotations(json_t *d, sm_descriptor *out)
{
    json_t *a = json_object_get(d, "annotations");
    json_t *full = json_object_get(a, "io.containerd.image.name");
    copy(out->name, sizeof out->name, full ? full : json_object_get(a, "org.opencontainers.image.ref.name"));
}

static int parse_descriptor(json_t *d, const char *what, sm_descriptor *out)
{
    memset(out, 0, sizeof *out);
    json_t *digest = json_object_get(d, "digest"), *size = json_object_get(d, "size");
    if (!json_is_object(d) || !json_is_string(digest) || !json_is_integer(size) ||
        json_integer_value(size) < 0)
        return sm_fail(EBADMSG, "%s is malformed: it needs a digest and a size", what);
    copy(out->media_type, sizeof out->media_type, json_object_get(d, "mediaType"));
    copy(out->digest, sizeof out->digest, digest);
    out->size = json_integer_value(size);
    int err = sm_digest_check(json_string_value(digest), what);
    if (err)
        return err;
    json_t *p = json_object_get(d, "platform");
    copy(out->platform.os, sizeof out->platform.os, json_object_get(p, "os"));
    copy(out->platform.arch, sizeof out->platform.arch, json_object_get(p, "architecture"));
    copy(out->platform.variant, sizeof out->platform.variant, json_object_get(p, "variant"));
    read_annotations(d, out);
    return 0;
}

static int parse_list(json_t *arr, size_t max, const char *what, const char *item,
                      sm_manifest *out)
{
    if (!json_is_array(arr))
        return sm_fail(EBADMSG, "%s is malformed: \"%ss\" is not a list", what, item);
    if (json_array_size(arr) > max)
        return sm_fail(EBADMSG, "%s lists %zu %ss, more than the %zu allowed", what,
                       json_array_size(arr), item, max);
    out->items = calloc(json_array_size(arr) + 1, sizeof *out->items);
    if (!out->items)
        return sm_fail(ENOMEM, "out of memory reading %s", what);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char name[300];
        snprintf(name, sizeof name, "%s %zu of %s", item, i + 1, what);
        int err = parse_descriptor(json_array_get(arr, i), name, &out->items[i]);
        if (err)
            return err;
        out->count++;
    }
    return 0;
}

static int check_image(const sm_manifest *m, const char *what)
{
    const char *ct = m->config.media_type;
    if (sm_media_kind_of(ct) != SM_MEDIA_CONFIG)
        return sm_fail(EMEDIUMTYPE, "%s is not a container image: its config has media type "
                       "'%s'", what, ct[0] ? ct : "(none)");
    if (m->config.size > SM_CONFIG_MAX)
        return sm_fail(EFBIG, "the config of %s is %lld bytes, more than the %u allowed", what,
                       (long long)m->config.size, SM_CONFIG_MAX);
    for (size_t i = 0; i < m->count; i++)
        if (sm_media_kind_of(m->items[i].media_type) != SM_MEDIA_LAYER)
            return sm_fail(EMEDIUMTYPE, "layer %zu of %s has unknown media type '%s'", i + 1,
                           what, m->items[i].media_type);
    return 0;
}

/* The document's own mediaType wins; the HTTP header is the fallback, and
 * the shape of the document the last resort. */
static void media_type_of(json_t *root, const char *content_type, char *out, size_t len)
{
    const char *mt = json_string_value(json_object_get(root, "mediaType"));
    if (mt && *mt) {
        snprintf(out, len, "%s", mt);
    } else if (content_type && sm_media_kind_of(content_type) != SM_MEDIA_UNKNOWN) {
        snprintf(out, len, "%s", content_type);
    } else {
        snprintf(out, len, "%s", json_object_get(root, "manifests") ? SM_MT_OCI_INDEX
                 : json_object_get(root, "layers") ? SM_MT_OCI_MANIFEST : "");
    }
}

static int parse_root(json_t *root, const char *content_type, const char *what,
                      sm_manifest *out)
{
    json_t *sv = json_object_get(root, "schemaVersion");
    media_type_of(root, content_type, out->media_type, sizeof out->media_type);
    out->kind = sm_media_kind_of(out->media_type);
    if (out->kind == SM_MEDIA_OLD_MANIFEST || json_integer_value(sv) == 1)
        return sm_fail(EMEDIUMTYPE, "%s uses Docker's schema 1 format, which is deprecated "
                       "and not supported; push the image again with a current tool", what);
    if (json_integer_value(sv) != 2)
        return sm_fail(EBADMSG, "%s is not an image manifest (schemaVersion is not 2)", what);
    if (out->kind == SM_MEDIA_INDEX)
        return parse_list(json_object_get(root, "manifests"), SM_INDEX_ENTRIES_MAX, what,
                          "manifest", out);
    if (out->kind != SM_MEDIA_MANIFEST)
        return sm_fail(EMEDIUMTYPE, "%s has unknown media type '%s'", what,
                       out->media_type[0] ? out->media_type : "(none)");
    char name[300];
    snprintf(name, sizeof name, "the config of %s", what);
    int err = parse_descriptor(json_object_get(root, "config"), name, &out->config);
    if (!err)
        err = parse_list(json_object_get(root, "layers"), SM_LAYERS_MAX, what, "layer", out);
    return err ? err : check_image(out, what);
}

int sm_manifest_parse(const char *data, size_t len, const char *content_type,
                      const char *what, sm_manifest *out)
{
    memset(out, 0, sizeof *out);
    char ct[128] = "";
    if (content_type)
        snprintf(ct, sizeof ct, "%.*s", (int)strcspn(content_type, "; "), content_type);
    json_error_t jerr;
    json_t *root = json_loadb(data, len, 0, &jerr);
    if (!root)
        return sm_fail(EBADMSG, "%s is not valid JSON (%s, at line %d)", what, jerr.text,
                       jerr.line);
    int err = json_is_object(root) ? parse_root(root, ct, what, out)
                                   : sm_fail(EBADMSG, "%s is not a JSON object", what);
    json_decref(root);
    if (err)
        sm_manifest_free(out);
    return err;
}

void sm_manifest_free(sm_manifest *m)
{
    free(m->items);
    m->items = NULL;
    m->count = 0;
}

/* Go's names, which images use, for what uname and other tools call them. */
static const char *normal_arch(const char *a)
{
    if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64"))
        return "amd64";
    if (!strcmp(a, "aarch64"))
        return "arm64";
    return a;
}

int sm_platform_parse(const char *s, sm_platform *out)
{
    memset(out, 0, sizeof *out);
    if (!s || !*s)
        s = "linux/amd64";
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    char *parts[4] = {0};
    int n = 0;
    for (char *save, *t = strtok_r(buf, "/", &save); t && n < 4; t = strtok_r(NULL, "/", &save))
        parts[n++] = t;
    if (n < 2 || n > 3 || strlen(s) >= sizeof buf)
        return sm_fail(EINVAL, "invalid platform '%s': write it as os/arch or "
                       "os/arch/variant, e.g. linux/amd64 or linux/arm64/v8", s);
    snprintf(out->os, sizeof out->os, "%s", parts[0]);
    snprintf(out->arch, sizeof out->arch, "%s", normal_arch(parts[1]));
    snprintf(out->variant, sizeof out->variant, "%s", n == 3 ? parts[2] : "");
    return 0;
}

void sm_platform_string(const sm_platform *p, char *out, size_t len)
{
    snprintf(out, len, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "", p->variant);
}

/* arm64's only variant is v8, so an image's missing variant means v8. */
static bool variant_matches(const sm_platform *have, const sm_platform *want)
{
    if (!want->variant[0] || !strcmp(have->variant, want->variant))
        return true;
    return !strcmp(want->arch, "arm64") && !strcmp(want->variant, "v8") && !have->variant[0];
}

bool sm_platform_matches(const sm_platform *have, const sm_platform *want)
{
    return !strcmp(have->os, want->os) && !strcmp(normal_arch(have->arch), want->arch) &&
           variant_matches(have, want);
}

static bool is_image_entry(const sm_descriptor *d)
{
    sm_media_kind k = sm_media_kind_of(d->media_type);
    return k == SM_MEDIA_MANIFEST || k == SM_MEDIA_INDEX || !d->media_type[0];
}

static int none_matches(const sm_manifest *m, const sm_platform *want, const char *what)
{
    char wanted[100], offered[1024] = "";
    sm_platform_string(want, wanted, sizeof wanted);
    size_t used = 0;
    for (size_t i = 0; i < m->count && used < sizeof offered - 100; i++) {
        const sm_platform *p = &m->items[i].platform;
        if (!is_image_entry(&m->items[i]) || !p->os[0] || !strcmp(p->os, "unknown"))
            continue;
        char one[100];
        sm_platform_string(p, one, sizeof one);
        used += (size_t)snprintf(offered + used, sizeof offered - used, "%s%s",
                                 used ? ", " : "", one);
    }
    return sm_fail(ENOENT, "%s has no image for %s; it offers: %s", what, wanted,
                   used ? offered : "nothing usable");
}

int sm_manifest_select(const sm_manifest *m, const sm_platform *want, const char *what,
                       const sm_descriptor **out)
{
    size_t with_platform = 0, images = 0;
    for (size_t i = 0; i < m->count; i++) {
        const sm_descriptor *d = &m->items[i];
        if (!is_image_entry(d))
            continue;
        images++;
        with_platform += d->platform.os[0] != '\0';
        if (sm_platform_matches(&d->platform, want)) {
            *out = d;
            return 0;
        }
    }
    /* An index that names no platforms (an OCI layout's index.json, say)
     * and holds one image means that image. */
    if (images == 1 && with_platform == 0) {
        for (size_t i = 0; i < m->count; i++)
            if (is_image_entry(&m->items[i]))
                *out = &m->items[i];
        return 0;
    }
    return none_matches(m, want, what);
}
