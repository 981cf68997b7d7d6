#include "oci/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config.h"
#include "util/error.h"
#include "util/log.h"

/* Indexes may nest (an OCI layout's index.json pointing at an image
 * index); a little nesting is legitimate, a loop is not. */
#define NESTING_MAX 4

static int load_manifest(const sm_store *s, const char *digest, const char *content_type,
                         const char *what, sm_manifest *out)
{
    char *data;
    size_t len;
    int err = sm_store_read_blob(s, digest, SM_MANIFEST_MAX, &data, &len);
    if (!err)
        err = sm_manifest_parse(data, len, content_type, what, out);
    free(data);
    return err;
}

static int check_config(const sm_store *s, const sm_manifest *m, const char *name,
                        sm_platform *p, char *platform, size_t plen)
{
    char *data, what[SM_REF_STR_MAX + 32];
    size_t len;
    snprintf(what, sizeof what, "the config of %s", name);
    int err = sm_store_read_blob(s, m->config.digest, SM_CONFIG_MAX, &data, &len);
    if (err)
        return err;
    sm_oci_info info = {0};
    err = sm_image_config_parse(data, len, what, &info);
    free(data);
    if (err)
        return err;
    snprintf(p->os, sizeof p->os, "%s", info.os);
    snprintf(p->arch, sizeof p->arch, "%s", info.architecture);
    snprintf(p->variant, sizeof p->variant, "%s", info.variant);
    sm_platform_string(p, platform, plen);
    sm_image_config_clear(&info);
    return 0;
}

/* Walk down from an index to the image manifest for `want`. */
static int descend(const sm_store *s, const sm_platform *want, const sm_blob_source *src,
                   const char *name, sm_resolved *out)
{
    char what[SM_REF_STR_MAX + 32];
    snprintf(what, sizeof what, "the index of %s", name);
    for (int depth = 0; out->manifest.kind == SM_MEDIA_INDEX; depth++) {
        const sm_descriptor *d;
        if (depth == NESTING_MAX)
            return sm_fail(ELOOP, "%s nests indexes more than %d deep", what, NESTING_MAX);
        int err = sm_manifest_select(&out->manifest, want, name, &d);
        if (err)
            return err;
        if (d->size > SM_MANIFEST_MAX)
            return sm_fail(EFBIG, "a manifest of %s is %lld bytes, more than the %u allowed",
                           name, (long long)d->size, SM_MANIFEST_MAX);
        sm_descriptor chosen = *d;
        snprintf(what, sizeof what, "the manifest of %s", name);
        if ((err = src->fetch(src->ctx, &chosen, true, what)))
            return err;
        sm_manifest_free(&out->manifest);
        err = load_manifest(s, chosen.digest, chosen.media_type, what, &out->manifest);
        if (err)
            return err;
        snprintf(out->manifest_digest, sizeof out->manifest_digest, "%s", chosen.digest);
    }
    return 0;
}

int sm_resolve(const sm_store *s, const char *root_digest, const char *content_type,
               const sm_platform *want, const sm_blob_source *src, const char *name,
               sm_resolved *out)
{
    memset(out, 0, sizeof *out);
    char what[SM_REF_STR_MAX + 32];
    snprintf(what, sizeof what, "the manifest of %s", name);
    int err = load_manifest(s, root_digest, content_type, what, &out->manifest);
    if (err)
        return err;
    snprintf(out->manifest_digest, sizeof out->manifest_digest, "%s", root_digest);
    if (out->manifest.kind == SM_MEDIA_INDEX) {
        snprintf(out->index_digest, sizeof out->index_digest, "%s", root_digest);
        err = descend(s, want, src, name, out);
    }
    snprintf(what, sizeof what, "the config of %s", name);
    if (!err)
        err = src->fetch(src->ctx, &out->manifest.config, false, what);
    if (!err)
        err = check_config(s, &out->manifest, name, &out->config_platform, out->platform,
                           sizeof out->platform);
    if (err)
        sm_resolved_free(out);
    else
        sm_debug("%s is %s (%s, %zu layers)", name, out->manifest_digest, out->platform,
                 out->manifest.count);
    return err;
}

void sm_resolved_free(sm_resolved *r)
{
    sm_manifest_free(&r->manifest);
}
