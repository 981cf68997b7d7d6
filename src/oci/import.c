/* sm_image_import and what every import format shares. */
#include "oci/import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "oci/ref.h"
#include "oci/store_index.h"
#include "util/error.h"

static int add_found(sm_import *imp, const char *name, const sm_resolved *r)
{
    sm_index_entry *f = realloc(imp->found, (imp->count + 1) * sizeof *f);
    if (!f)
        return sm_fail(ENOMEM, "out of memory");
    imp->found = f;
    sm_index_entry *e = &f[imp->count++];
    memset(e, 0, sizeof *e);
    e->stored = (int64_t)time(NULL);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->manifest, sizeof e->manifest, "%s", r->manifest_digest);
    snprintf(e->index, sizeof e->index, "%s", r->index_digest);
    snprintf(e->platform, sizeof e->platform, "%s", r->platform);
    return 0;
}

/* A name as the archive gives it, normalised; "" when it gives none. A
 * bare tag ("latest", as skopeo writes) names no repository. */
static int normal_name(const char *given, char *out, size_t len)
{
    out[0] = '\0';
    if (!given || !given[0] || (!strchr(given, '/') && !strchr(given, ':')))
        return 0;
    sm_ref ref;
    int err = sm_ref_parse(given, &ref);
    if (err)
        return err;
    sm_ref_string(&ref, out, len);
    return 0;
}

int sm_import_image(sm_import *imp, const sm_descriptor *root, const sm_blob_source *src,
                    const char *given_name)
{
    char name[SM_REF_STR_MAX], what[SM_REF_STR_MAX + 64];
    int err = normal_name(given_name, name, sizeof name);
    if (err)
        return sm_fail_context(err, "'%s'", imp->path);
    snprintf(what, sizeof what, "%s%s%s", imp->path, name[0] ? ": " : "", name);
    if ((err = src->fetch(src->ctx, root, true, what)))
        return err;
    sm_resolved r;
    if ((err = sm_resolve(imp->store, root->digest, root->media_type, &imp->want, src, what, &r)))
        return err;
    for (size_t i = 0; !err && i < r.manifest.count; i++) {
        char lwhat[SM_REF_STR_MAX + 160];
        snprintf(lwhat, sizeof lwhat, "layer %s of %s", r.manifest.items[i].digest, what);
        err = src->fetch(src->ctx, &r.manifest.items[i], false, lwhat);
    }
    if (!err)
        err = add_found(imp, name, &r);
    sm_resolved_free(&r);
    return err;
}

static size_t named_entries(const sm_manifest *index)
{
    size_t n = 0;
    for (size_t i = 0; i < index->count; i++)
        n += index->items[i].name[0] != '\0';
    return n;
}

int sm_import_oci_index(sm_import *imp, const char *index_json, size_t len,
                        const sm_blob_source *src)
{
    char what[4200];
    snprintf(what, sizeof what, "the index.json of '%s'", imp->path);
    sm_manifest index;
    int err = sm_manifest_parse(index_json, len, SM_MT_OCI_INDEX, what, &index);
    if (!err && index.kind != SM_MEDIA_INDEX)
        err = sm_fail(EMEDIUMTYPE, "%s is not an image index", what);
    if (err) {
        sm_manifest_free(&index);
        return err;
    }
    if (named_entries(&index)) {
        for (size_t i = 0; !err && i < index.count; i++)
            if (index.items[i].name[0])
                err = sm_import_image(imp, &index.items[i], src, index.items[i].name);
    } else {
        const sm_descriptor *d;
        err = sm_manifest_select(&index, &imp->want, what, &d);
        if (!err)
            err = sm_import_image(imp, d, src, "");
    }
    sm_manifest_free(&index);
    return err;
}

static int check_name(const char *given, char *out, size_t len)
{
    sm_ref ref;
    int err = sm_ref_parse(given, &ref);
    if (!err)
        sm_ref_string(&ref, out, len);
    return err;
}

static size_t distinct_images(const sm_import *imp)
{
    size_t n = 0;
    for (size_t i = 0; i < imp->count; i++) {
        size_t j = 0;
        while (j < i && strcmp(imp->found[j].manifest, imp->found[i].manifest))
            j++;
        n += j == i;
    }
    return n;
}

/* Name what was found: the archive's names, the extra name, and the digest
 * for an image left without any. */
static int name_images(sm_import *imp)
{
    if (imp->extra_name && distinct_images(imp) > 1)
        return sm_fail(EINVAL, "'%s' holds %zu images, so a name for it would be ambiguous; "
                       "import it without one", imp->path, distinct_images(imp));
    if (imp->extra_name && imp->count) {
        sm_index_entry *f = realloc(imp->found, (imp->count + 1) * sizeof *f);
        if (!f)
            return sm_fail(ENOMEM, "out of memory");
        imp->found = f;
        f[imp->count] = f[0];
        snprintf(f[imp->count++].name, sizeof f->name, "%s", imp->extra_name);
    }
    for (size_t i = 0; i < imp->count; i++)
        if (!imp->found[i].name[0] && !imp->extra_name)
            snprintf(imp->found[i].name, sizeof imp->found[i].name, "%s",
                     imp->found[i].manifest);
    return 0;
}

/* The caller's step for each distinct image, with its manifest. */
static int run_hook(sm_import *imp)
{
    for (size_t i = 0; imp->hook && i < imp->count; i++) {
        const sm_index_entry *e = &imp->found[i];
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= !strcmp(imp->found[j].manifest, e->manifest);
        if (seen)
            continue;
        char *data;
        size_t len;
        sm_manifest m;
        int err = sm_store_read_blob(imp->store, e->manifest, SM_MANIFEST_MAX, &data, &len);
        if (err)
            return err;
        err = sm_manifest_parse(data, len, NULL, "an imported manifest", &m);
        free(data);
        if (!err) {
            err = imp->hook->ready(imp->hook->ctx, imp->store, &m,
                                   e->name[0] ? e->name : e->manifest);
            sm_manifest_free(&m);
        }
        if (err)
            return err;
    }
    return 0;
}

static int finish(sm_import *imp, sm_oci_image_ref **out, size_t *count)
{
    int err = name_images(imp);
    if (!err)
        err = run_hook(imp);
    sm_oci_image_ref *refs = err ? NULL : calloc(imp->count + 1, sizeof *refs);
    if (!err && !refs)
        err = sm_fail(ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; !err && i < imp->count; i++) {
        const sm_index_entry *e = &imp->found[i];
        if (!e->name[0])
            continue;
        err = sm_index_put(imp->store, e);
        /* An unnamed image is listed under its digest, but has no name. */
        snprintf(refs[n].name, sizeof refs->name, "%s",
                 strcmp(e->name, e->manifest) ? e->name : "");
        snprintf(refs[n++].digest, sizeof refs->digest, "%s", e->manifest);
    }
    if (err) {
        free(refs);
        return err;
    }
    *out = refs;
    *count = n;
    return 0;
}

int sm_oci_import(const char *path, const sm_oci_import_options *opts, const sm_pull_hook *hook,
                  sm_oci_image_ref **out, size_t *count)
{
    sm_oci_import_options o = {0};
    if (opts)
        o = *opts;
    *out = NULL;
    *count = 0;
    char extra[SM_REF_STR_MAX];
    sm_import imp = {.path = path, .hook = hook};
    int err = sm_platform_parse(o.platform, &imp.want);
    if (!err && o.name && (err = check_name(o.name, extra, sizeof extra)) == 0)
        imp.extra_name = extra;
    struct stat st;
    if (!err && stat(path, &st) < 0)
        err = sm_fail(errno, "cannot import '%s': %s", path, strerror(errno));
    sm_store s;
    if (err || (err = sm_store_open(&s, NULL, SM_STORE_SHARED)))
        return err;
    imp.store = &s;
    err = S_ISDIR(st.st_mode) ? sm_import_layout_dir(&imp) : sm_import_archive(&imp);
    if (!err && !imp.count)
        err = sm_fail(ENOENT, "'%s' holds no image", path);
    if (!err)
        err = finish(&imp, out, count);
    sm_store_close(&s);
    free(imp.found);
    return err;
}
