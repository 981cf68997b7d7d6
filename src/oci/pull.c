/* sm_image_pull: a registry as the source of an image's blobs. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oci/pull.h"
#include "oci/pull_early.h"
#include "oci/pull_layers.h"
#include "oci/registry.h"
#include "oci/resolve.h"
#include "oci/store_index.h"
#include "util/error.h"
#include "util/log.h"

/* Store a manifest only once it reads as one, so junk never enters. */
static int store_manifest(const sm_store *s, const char *body, size_t len, const char *ct,
                          const char *digest, const char *what)
{
    sm_manifest m;
    int err = sm_manifest_parse(body, len, ct, what, &m);
    sm_manifest_free(&m);
    return err ? err : sm_store_put_blob(s, what, body, len, digest, NULL);
}

typedef struct registry_source {
    sm_registry *reg;
    sm_http *http;
    const sm_store *store;
} registry_source;

static int fetch_manifest(registry_source *rs, const sm_descriptor *d, const char *what)
{
    char *body, ct[128], digest[SM_DIGEST_STR];
    size_t len;
    int err = sm_registry_get_manifest(rs->reg, rs->http, d->digest, &body, &len, ct, digest);
    if (err)
        return err;
    if ((int64_t)len != d->size)
        err = sm_fail(EBADMSG, "%s is %zu bytes, but its descriptor says %lld", what, len,
                      (long long)d->size);
    else
        err = store_manifest(rs->store, body, len, d->media_type, d->digest, what);
    free(body);
    return err;
}

static int fetch(void *ctx, const sm_descriptor *d, bool is_manifest, const char *what)
{
    registry_source *rs = ctx;
    if (sm_store_has_blob(rs->store, d->digest))
        return 0;
    if (is_manifest)
        return fetch_manifest(rs, d, what);
    return sm_registry_get_blob(rs->reg, rs->http, rs->store, d, what, NULL, NULL, NULL);
}

/* The top-level manifest or index, by tag or digest; stored, verified. */
static int fetch_root(registry_source *rs, const sm_ref *ref, const char *name,
                      char digest[SM_DIGEST_STR], char ct[128])
{
    ct[0] = '\0';
    if (ref->digest[0] && sm_store_has_blob(rs->store, ref->digest)) {
        snprintf(digest, SM_DIGEST_STR, "%s", ref->digest);
        return 0;   /* content addressed: nothing to ask the registry */
    }
    char *body, what[SM_REF_STR_MAX + 32];
    size_t len;
    int err = sm_registry_get_manifest(rs->reg, rs->http, sm_ref_reference(ref), &body, &len,
                                       ct, digest);
    if (err)
        return err;
    snprintf(what, sizeof what, "the manifest of %s", name);
    err = store_manifest(rs->store, body, len, ct, digest, what);
    free(body);
    return err;
}

/* A platform asked for is the platform pulled, also from an image that is
 * not multi-platform, whose config says which one it is. Without one asked
 * for, any image will do (the default only chooses within an index). An
 * index's choice, made by its labels, stands: configs often leave out the
 * variant the index names; likewise a plain image's config without one
 * does not contradict the variant asked for. */
static int check_platform(const sm_oci_pull_options *o, const sm_platform *want,
                          const sm_resolved *r, const char *name)
{
    const sm_platform *have = &r->config_platform;
    if (!o->platform || !*o->platform || r->index_digest[0] || !have->os[0] || !have->arch[0])
        return 0;
    sm_platform asked = *want;
    if (!have->variant[0])
        asked.variant[0] = '\0';
    if (sm_platform_matches(have, &asked))
        return 0;
    char wanted[100];
    sm_platform_string(want, wanted, sizeof wanted);
    return sm_fail(ENOENT, "%s is %s only; it has no %s variant", name, r->platform, wanted);
}

static int record(const sm_store *s, const char *name, const sm_resolved *r, sm_oci_image_ref *out)
{
    sm_index_entry e = {.stored = (int64_t)time(NULL)};
    snprintf(e.name, sizeof e.name, "%s", name);
    snprintf(e.manifest, sizeof e.manifest, "%s", r->manifest_digest);
    snprintf(e.index, sizeof e.index, "%s", r->index_digest);
    snprintf(e.platform, sizeof e.platform, "%s", r->platform);
    int err = sm_index_put(s, &e);
    if (!err && out) {
        snprintf(out->name, sizeof out->name, "%s", name);
        snprintf(out->digest, sizeof out->digest, "%s", r->manifest_digest);
    }
    return err;
}

/* ref names where to ask (the origin, or a mirror standing for it);
 * name is what the store calls the image either way. */
static int pull_from(const sm_ref *ref, const char *name, const sm_oci_pull_options *o,
                     const sm_pull_hook *hook, const sm_store *s, sm_http *h, sm_oci_image_ref *out)
{
    char digest[SM_DIGEST_STR], ct[128];
    sm_platform want;
    int err = sm_platform_parse(o->platform, &want);
    if (err)
        return err;
    sm_credentials creds = {0};
    if (o->username) {
        snprintf(creds.username, sizeof creds.username, "%s", o->username);
        snprintf(creds.password, sizeof creds.password, "%s", o->password ? o->password : "");
    }
    sm_registry reg;
    if ((err = sm_registry_open(&reg, ref, o->insecure_registries, o->username ? &creds : NULL)))
        return err;
    registry_source rs = {.reg = &reg, .http = h, .store = s};
    sm_blob_source src = {.fetch = fetch, .ctx = &rs};
    sm_resolved r;
    err = fetch_root(&rs, ref, name, digest, ct);
    if (!err && !(err = sm_resolve(s, digest, ct, &want, &src, name, &r))) {
        err = check_platform(o, &want, &r, name);
        if (!err)
            err = sm_pull_layers_early(&reg, s, &r.manifest, name, hook, o);
        if (!err && hook)
            err = hook->ready(hook->ctx, s, &r.manifest, name);
        if (!err)
            err = record(s, name, &r, out);
        sm_resolved_free(&r);
    }
    sm_registry_close(&reg);
    return err;
}

/* "https://host:port/", "http://host", "host": the host, and whether
 * plain HTTP was asked for. */
static int mirror_domain(const char *url, char *out, size_t len, bool *plain)
{
    const char *p = url;
    *plain = !strncmp(p, "http://", 7);
    if (*plain)
        p += 7;
    else if (!strncmp(p, "https://", 8))
        p += 8;
    size_t n = strcspn(p, "/");
    if (!n || n >= len || strspn(p + n, "/") != strlen(p + n))
        return sm_fail(EINVAL, "registry mirror '%s' is not a URL such as https://host[:port]",
                       url);
    snprintf(out, len, "%.*s", (int)n, p);
    return 0;
}

/* Only what a mirror cannot fix ends the pull there: a mirror that is down
 * or lacks the image passes to the next, then to the origin. */
static bool final(int err)
{
    return err == -ENOSPC || err == -EDQUOT || err == -EROFS || err == -ENOMEM;
}

static int pull_mirror(const sm_ref *ref, const char *url, const char *name,
                       const sm_oci_pull_options *o, const sm_pull_hook *hook, const sm_store *s,
                       sm_http *h, sm_oci_image_ref *out)
{
    sm_ref at = *ref;
    bool plain;
    int err = mirror_domain(url, at.domain, sizeof at.domain, &plain);
    if (err)
        return err;
    const char *insecure[2] = {plain ? at.domain : NULL, NULL};
    sm_oci_pull_options mo = *o;
    if (plain && !sm_registry_is_loopback(at.domain))
        mo.insecure_registries = insecure;  /* the URL's own scheme says so */
    err = pull_from(&at, name, &mo, hook, s, h, out);
    if (err)
        sm_debug("pull: mirror %s failed for %s: %s", url, name, sm_error_text());
    return err;
}

static int pull(const sm_ref *ref, const sm_oci_pull_options *o, const sm_pull_hook *hook,
                const sm_store *s, sm_http *h, sm_oci_image_ref *out)
{
    char name[SM_REF_STR_MAX];
    sm_ref_string(ref, name, sizeof name);
    char domain[SM_REF_NAME_MAX];
    bool plain;
    for (const char *const *m = o->mirrors; m && *m; m++)
        if (mirror_domain(*m, domain, sizeof domain, &plain))
            return -EINVAL;   /* a typo shows at once, not only when Docker Hub is used */
    if (!strcmp(ref->domain, "docker.io"))
        for (const char *const *m = o->mirrors; m && *m; m++) {
            int err = pull_mirror(ref, *m, name, o, hook, s, h, out);
            if (!err || final(err))
                return err;
        }
    return pull_from(ref, name, o, hook, s, h, out);
}

int sm_oci_pull(const char *reference, const sm_oci_pull_options *opts,
                const sm_pull_hook *hook, sm_oci_image_ref *out)
{
    sm_oci_pull_options o = {0};
    if (opts)
        o = *opts;
    sm_ref ref;
    int err = sm_ref_parse(reference, &ref);
    if (err)
        return err;
    sm_store s;
    if ((err = sm_store_open(&s, NULL, SM_STORE_SHARED)))
        return err;
    sm_http h;
    if (!(err = sm_http_init(&h))) {
        err = pull(&ref, &o, hook, &s, &h, out);
        sm_http_free(&h);
    }
    sm_store_close(&s);
    return err;
}
