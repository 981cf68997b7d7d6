/* sm_image_push: a stored image to the registry its name gives (docker
 * push): each image's config and layers, then its manifest, then the index
 * it came from when the store holds all of that index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/push.h"
#include "oci/store_index.h"
#include "util/error.h"

/* What goes to the registry: image manifests, and the index over them
 * (index.count == 0: none; the one manifest goes under the tag). */
typedef struct push_plan {
    sm_manifest *images;
    char (*digests)[SM_DIGEST_STR];
    size_t count;
    char index_digest[SM_DIGEST_STR];
    sm_manifest index;
} push_plan;

static void plan_free(push_plan *pl)
{
    for (size_t i = 0; i < pl->count; i++)
        sm_manifest_free(&pl->images[i]);
    free(pl->images);
    free(pl->digests);
    sm_manifest_free(&pl->index);
    memset(pl, 0, sizeof *pl);
}

/* The entry of exactly this name: a push names where it goes, so an ID or
 * digest prefix (which sm_image_lookup would take) is no use here. */
static int find_entry(const sm_store *s, const char *reference, const char *name,
                      sm_index_entry *out)
{
    sm_index_entry *e;
    size_t n;
    int err = sm_index_load(s, &e, &n);
    for (size_t i = 0; !err && i < n; i++)
        if (!strcmp(e[i].name, name)) {
            *out = e[i];
            free(e);
            return 0;
        }
    if (!err)
        free(e);
    return err ? err : sm_fail(ENOENT, "no image '%s' in the store to push; give a stored "
                               "image that name with 'supermachine tag IMAGE %s'", reference,
                               reference);
}

static int read_manifest(const sm_store *s, const char *digest, const char *what,
                         sm_manifest *m)
{
    char *data;
    size_t len;
    int err = sm_store_read_blob(s, digest, SM_MANIFEST_MAX, &data, &len);
    if (err == -ENOENT)
        return sm_fail(ENOENT, "%s (%s) is not in the image store; pull or load the image "
                       "again", what, digest);
    if (err)
        return err;
    err = sm_manifest_parse(data, len, NULL, what, m);
    free(data);
    return err;
}

static int add_image(push_plan *pl, const sm_store *s, const char *digest, const char *what)
{
    sm_manifest *im = realloc(pl->images, (pl->count + 1) * sizeof *im);
    if (im)
        pl->images = im;
    char (*d)[SM_DIGEST_STR] = im ? realloc(pl->digests, (pl->count + 1) * sizeof *d) : NULL;
    if (!d)
        return sm_fail(ENOMEM, "out of memory");
    pl->digests = d;
    int err = read_manifest(s, digest, what, &pl->images[pl->count]);
    if (!err && pl->images[pl->count].kind != SM_MEDIA_MANIFEST) {
        sm_manifest_free(&pl->images[pl->count]);
        err = sm_fail(EMEDIUMTYPE, "%s is not an image manifest", what);
    }
    if (!err)
        snprintf(pl->digests[pl->count++], SM_DIGEST_STR, "%s", digest);
    return err;
}

/* Every manifest, config and layer the index names is stored: then it can
 * be pushed whole. A pull keeps one platform's image of an index. */
static bool index_complete(const sm_store *s, const sm_manifest *index)
{
    for (size_t i = 0; i < index->count; i++) {
        const sm_descriptor *d = &index->items[i];
        sm_manifest m;
        if (sm_media_kind_of(d->media_type) != SM_MEDIA_MANIFEST ||
            !sm_store_has_blob(s, d->digest) || read_manifest(s, d->digest, "", &m) < 0)
            return false;
        bool ok = m.kind == SM_MEDIA_MANIFEST && sm_store_has_blob(s, m.config.digest);
        for (size_t j = 0; ok && j < m.count; j++)
            ok = sm_store_has_blob(s, m.items[j].digest);
        sm_manifest_free(&m);
        if (!ok)
            return false;
    }
    return index->count > 0;
}

/* The index and all its images, or only the entry's image. */
static int make_plan(const sm_store *s, const sm_index_entry *e, push_plan *pl)
{
    char what[SM_REF_STR_MAX + 64];
    memset(pl, 0, sizeof *pl);
    sm_manifest idx = {0};
    snprintf(what, sizeof what, "the index of %s", e->name);
    if (e->index[0] && sm_store_has_blob(s, e->index) && !read_manifest(s, e->index, what, &idx) &&
        idx.kind == SM_MEDIA_INDEX && index_complete(s, &idx)) {
        pl->index = idx;
        snprintf(pl->index_digest, sizeof pl->index_digest, "%s", e->index);
        for (size_t i = 0; i < idx.count; i++) {
            snprintf(what, sizeof what, "the %s manifest of %s", idx.items[i].digest, e->name);
            int err = add_image(pl, s, idx.items[i].digest, what);
            if (err)
                return err;
        }
        return 0;
    }
    sm_manifest_free(&idx);
    snprintf(what, sizeof what, "the manifest of %s", e->name);
    return add_image(pl, s, e->manifest, what);
}

static void count_blobs(sm_pusher *p, const push_plan *pl)
{
    for (size_t i = 0; i < pl->count; i++) {
        const sm_manifest *m = &pl->images[i];
        p->progress.blobs += (uint32_t)(m->count + 1);
        p->progress.bytes += (uint64_t)m->config.size;
        for (size_t j = 0; j < m->count; j++)
            p->progress.bytes += (uint64_t)m->items[j].size;
    }
}

/* One image: its config and layers, then its manifest under `reference`. */
static int push_image(sm_pusher *p, const sm_manifest *m, const char *digest,
                      const char *reference)
{
    char what[SM_REF_STR_MAX + 128];
    snprintf(what, sizeof what, "the config of %s", p->name);
    int err = sm_push_blob(p, &m->config, what);
    for (size_t i = 0; !err && i < m->count; i++) {
        snprintf(what, sizeof what, "layer %zu (%s) of %s", i + 1, m->items[i].digest, p->name);
        err = sm_push_blob(p, &m->items[i], what);
    }
    snprintf(what, sizeof what, "the manifest of %s", p->name);
    return err ? err : sm_push_manifest(p, digest, m->media_type, reference, what);
}

static int push_plan_run(sm_pusher *p, const push_plan *pl, const char *tag)
{
    bool whole = pl->index_digest[0];
    int err = 0;
    for (size_t i = 0; !err && i < pl->count; i++)
        err = push_image(p, &pl->images[i], pl->digests[i], whole ? pl->digests[i] : tag);
    if (!err && whole) {
        char what[SM_REF_STR_MAX + 32];
        snprintf(what, sizeof what, "the index of %s", p->name);
        err = sm_push_manifest(p, pl->index_digest, pl->index.media_type, tag, what);
    }
    if (!err)
        sm_push_report(p, 1);
    return err;
}

static int push_entry(const sm_ref *ref, const sm_index_entry *e, const sm_oci_push_options *o,
                      const sm_store *s, sm_oci_image_ref *out)
{
    sm_credentials creds = {0};
    if (o->username) {
        snprintf(creds.username, sizeof creds.username, "%s", o->username);
        snprintf(creds.password, sizeof creds.password, "%s", o->password ? o->password : "");
    }
    push_plan pl;
    int err = make_plan(s, e, &pl);
    sm_registry reg;
    if (err || (err = sm_registry_open(&reg, ref, o->insecure_registries,
                                       o->username ? &creds : NULL))) {
        plan_free(&pl);
        return err;
    }
    reg.push = true;
    sm_http h;
    if (!(err = sm_http_init(&h))) {
        sm_pusher p = {.reg = &reg, .http = &h, .store = s, .name = e->name,
                       .report = o->progress, .report_ctx = o->progress_ctx};
        p.progress.name = e->name;
        count_blobs(&p, &pl);
        err = push_plan_run(&p, &pl, ref->tag);
        sm_http_free(&h);
    }
    if (!err && out) {
        snprintf(out->name, sizeof out->name, "%s", e->name);
        snprintf(out->digest, sizeof out->digest, "%s",
                 pl.index_digest[0] ? pl.index_digest : pl.digests[0]);
    }
    sm_registry_close(&reg);
    plan_free(&pl);
    return err;
}

int sm_oci_push(const char *reference, const sm_oci_push_options *opts, sm_oci_image_ref *out)
{
    sm_oci_push_options o = {0};
    if (opts)
        o = *opts;
    sm_ref ref;
    if (!reference || sm_ref_parse(reference, &ref) != 0)
        return sm_fail(EINVAL, "'%s' is not a valid image name", reference ? reference : "");
    if (ref.digest[0])
        return sm_fail(EINVAL, "'%s' names a digest; push takes NAME[:TAG] and pushes under "
                       "that tag", reference);
    char name[SM_REF_STR_MAX];
    sm_ref_string(&ref, name, sizeof name);
    sm_store s;
    sm_index_entry e;
    /* Shared: a gc waits until the push has read what it sends. */
    int err = sm_store_open(&s, NULL, SM_STORE_SHARED);
    if (err)
        return err;
    if (!(err = find_entry(&s, reference, name, &e)))
        err = push_entry(&ref, &e, &o, &s, out);
    sm_store_close(&s);
    return err;
}
