/* Import from a tarball: every regular file goes into the store as it is
 * read (verified against its name when it is blobs/sha256/<hex>), so the
 * archive is read once whatever its order; then manifest.json (docker save)
 * or index.json (oci-archive, and docker save since Docker 25) says which
 * of them make images. */
#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/import.h"
#include "util/error.h"
#include "util/log.h"

#define META_MAX (4u << 20)
#define LINK_DEPTH 8
#define MEMBERS_MAX 100000   /* far beyond any image; bounds a hostile archive */

typedef struct member {
    char *path;
    size_t order;                /* in the archive: the first of equal paths wins */
    char *link;                  /* a symlink's or hardlink's target, normalised */
    char digest[SM_DIGEST_STR];  /* a regular file's */
    int64_t size;
} member;

typedef struct tarball {
    sm_import *imp;
    member *members;
    size_t count, cap;
    char *manifest_json, *index_json;   /* NUL-terminated, or NULL */
    size_t manifest_len, index_len;
} tarball;

/* "./a//b/../c" -> "a/c"; "" if it climbs out of the archive. */
static void normalise(const char *in, char *out, size_t len)
{
    char buf[4096], *save;
    snprintf(buf, sizeof buf, "%s", in);
    size_t n = 0;
    out[0] = '\0';
    for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            char *slash = strrchr(out, '/');
            if (!n) {
                out[0] = '\0';
                return;
            }
            n = slash ? (size_t)(slash - out) : 0;
            out[n] = '\0';
            continue;
        }
        n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "/" : "", c);
        if (n >= len)
            n = len - 1;
    }
}

static member *add_member(tarball *t, const char *path)
{
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 32;
        member *m = realloc(t->members, cap * sizeof *m);
        if (!m)
            return NULL;
        t->members = m, t->cap = cap;
    }
    member *m = &t->members[t->count];
    memset(m, 0, sizeof *m);
    m->order = t->count;
    if (!(m->path = strdup(path)))
        return NULL;
    t->count++;
    return m;
}

static int read_meta(tarball *t, struct archive *a, const char *path, int64_t size, char **out,
                     size_t *len)
{
    if (size < 0 || size > (int64_t)META_MAX)
        return sm_fail(EFBIG, "%s in '%s' is larger than the %u bytes allowed", path,
                       t->imp->path, META_MAX);
    free(*out);
    *out = malloc((size_t)size + 1);
    if (!*out)
        return sm_fail(ENOMEM, "out of memory");
    la_ssize_t n = archive_read_data(a, *out, (size_t)size);
    if (n != (la_ssize_t)size)
        return sm_fail(EIO, "cannot read %s from '%s': %s", path, t->imp->path,
                       n < 0 ? archive_error_string(a) : "the archive ends early");
    (*out)[size] = '\0';
    *len = (size_t)size;
    return 0;
}

/* blobs/sha256/<hex> names the digest its content must have. */
static const char *expected_digest(const char *path, char buf[SM_DIGEST_STR])
{
    if (strncmp(path, "blobs/sha256/", 13) != 0)
        return NULL;
    snprintf(buf, SM_DIGEST_STR, "sha256:%s", path + 13);
    return sm_digest_valid(buf) ? buf : NULL;
}

static int store_member(tarball *t, struct archive *a, const char *path, int64_t size)
{
    char what[4400], expect_buf[SM_DIGEST_STR];
    snprintf(what, sizeof what, "%s in '%s'", path, t->imp->path);
    sm_blob_writer w;
    int err = sm_blob_writer_open(&w, t->imp->store, what, expected_digest(path, expect_buf), size);
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int rc = err ? ARCHIVE_FATAL : archive_read_data_block(a, &buf, &len, &off);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc < ARCHIVE_WARN) {
            if (!err)
                err = sm_fail(EIO, "cannot read %s: %s", what, archive_error_string(a));
            break;
        }
        err = sm_blob_writer_write(&w, buf, len);
    }
    member *m = err ? NULL : add_member(t, path);
    if (!err && !m)
        err = sm_fail(ENOMEM, "out of memory");
    if (err) {
        sm_blob_writer_abort(&w);
        return err;
    }
    m->size = size;
    return sm_blob_writer_commit(&w, m->digest);
}

static int add_link(tarball *t, const char *path, const char *target, bool relative)
{
    char joined[8192], norm[4096];
    const char *slash = strrchr(path, '/');
    if (relative && slash)
        snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - path), path, target);
    else
        snprintf(joined, sizeof joined, "%s", target);
    normalise(joined, norm, sizeof norm);
    member *m = add_member(t, path);
    if (!m || !(m->link = strdup(norm)))
        return sm_fail(ENOMEM, "out of memory");
    return 0;
}

/* Files of the legacy docker-save layout that are not blobs. */
static bool ignored(const char *path)
{
    const char *base = strrchr(path, '/');
    return base && (!strcmp(base, "/VERSION") || !strcmp(base, "/json"));
}

static int one_entry(tarball *t, struct archive *a, struct archive_entry *e)
{
    char path[4096];
    if (t->count == MEMBERS_MAX)
        return sm_fail(EFBIG, "'%s' holds more than %d files; it is not an image archive",
                       t->imp->path, MEMBERS_MAX);
    normalise(archive_entry_pathname(e), path, sizeof path);
    int64_t size = archive_entry_size(e);
    if (!path[0])
        return 0;
    if (archive_entry_hardlink(e))
        return add_link(t, path, archive_entry_hardlink(e), false);
    if (archive_entry_filetype(e) == AE_IFLNK)
        return add_link(t, path, archive_entry_symlink(e), true);
    if (archive_entry_filetype(e) != AE_IFREG || ignored(path))
        return 0;
    if (!strcmp(path, "manifest.json"))
        return read_meta(t, a, path, size, &t->manifest_json, &t->manifest_len);
    if (!strcmp(path, "index.json"))
        return read_meta(t, a, path, size, &t->index_json, &t->index_len);
    if (!strcmp(path, "repositories") || !strcmp(path, "oci-layout"))
        return 0;
    return store_member(t, a, path, size);
}

static int read_tarball(tarball *t)
{
    struct archive *a = archive_read_new();
    if (!a)
        return sm_fail(ENOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    int err = 0;
    if (archive_read_open_filename(a, t->imp->path, 1 << 16) != ARCHIVE_OK)
        err = sm_fail(EINVAL, "cannot read '%s' as a tar archive: %s", t->imp->path,
                      archive_error_string(a));
    struct archive_entry *e;
    while (!err) {
        int rc = archive_read_next_header(a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc < ARCHIVE_WARN)
            err = sm_fail(EINVAL, "'%s' is not a readable tar archive: %s", t->imp->path,
                          archive_error_string(a));
        else
            err = one_entry(t, a, e);
    }
    archive_read_free(a);
    return err;
}

static int by_path(const void *a, const void *b)
{
    const member *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int path_is(const void *key, const void *elem)
{
    return strcmp(key, ((const member *)elem)->path);
}

/* Members sorted by path once read, so that each of the many references
 * an archive may hold is a binary search, not a scan (20k references over
 * 20k members took 17 s). */
static const member *lookup(const tarball *t, const char *path)
{
    /* bsearch and qsort take no NULL array, even an empty one. */
    const member *m = t->count ? bsearch(path, t->members, t->count, sizeof *m, path_is) : NULL;
    while (m && m > t->members && !strcmp(m[-1].path, path))
        m--;
    return m;
}

static const member *find(const tarball *t, const char *path)
{
    char cur[4096];
    snprintf(cur, sizeof cur, "%s", path);
    for (int depth = 0; depth < LINK_DEPTH; depth++) {
        const member *m = lookup(t, cur);
        if (!m || !m->link)
            return m;
        snprintf(cur, sizeof cur, "%s", m->link);
    }
    return NULL;
}

/* In the archive, a blob is there if the archive held it (verified when
 * stored) or the store already had it. */
static int fetch(void *ctx, const sm_descriptor *d, bool is_manifest, const char *what)
{
    tarball *t = ctx;
    (void)is_manifest;
    if (sm_store_has_blob(t->imp->store, d->digest))
        return 0;
    return sm_fail(ENOENT, "%s is missing from the archive (no blobs/sha256/%s)", what,
                   sm_digest_hex(d->digest));
}

static int file_digest(const tarball *t, json_t *v, const char *what, char *digest, int64_t *size)
{
    const char *path = json_string_value(v);
    char norm[4096];
    normalise(path ? path : "", norm, sizeof norm);
    const member *m = norm[0] ? find(t, norm) : NULL;
    if (!m)
        return sm_fail(ENOENT, "the manifest.json of '%s' names %s '%s', which the archive "
                       "does not hold", t->imp->path, what, path ? path : "(none)");
    snprintf(digest, SM_DIGEST_STR, "%s", m->digest);
    *size = m->size;
    return 0;
}

static int docker_item(tarball *t, json_t *item)
{
    json_t *layers = json_object_get(item, "Layers"), *tags = json_object_get(item, "RepoTags");
    size_t n = json_array_size(layers), ntags = json_array_size(tags);
    char config[SM_DIGEST_STR], (*digests)[SM_DIGEST_STR] = calloc(n + 1, sizeof *digests);
    int64_t config_size, *sizes = calloc(n + 1, sizeof *sizes);
    const char **names = calloc(ntags + 1, sizeof *names);
    int err = !digests || !sizes || !names ? sm_fail(ENOMEM, "out of memory") : 0;
    if (!err)
        err = file_digest(t, json_object_get(item, "Config"), "the config", config, &config_size);
    for (size_t i = 0; !err && i < n; i++)
        err = file_digest(t, json_array_get(layers, i), "a layer", digests[i], &sizes[i]);
    for (size_t i = 0; !err && i < ntags; i++)
        names[i] = json_string_value(json_array_get(tags, i));
    sm_docker_image img = {.config_digest = config, .config_size = config_size,
                           .layer_digests = (const char (*)[SM_DIGEST_STR])digests,
                           .layer_sizes = sizes, .layer_count = n, .names = names};
    if (!err)
        err = sm_import_docker_image(t->imp, &img);
    free(digests);
    free(sizes);
    free(names);
    return err;
}

static int docker_manifest(tarball *t)
{
    json_error_t jerr;
    json_t *root = json_loadb(t->manifest_json, t->manifest_len, 0, &jerr);
    int err = 0;
    if (!json_is_array(root))
        err = sm_fail(EBADMSG, "the manifest.json of '%s' is not a JSON list (%s)", t->imp->path,
                      root ? "another JSON value" : jerr.text);
    for (size_t i = 0; !err && i < json_array_size(root); i++)
        err = docker_item(t, json_array_get(root, i));
    json_decref(root);
    return err;
}

/* index.json first: Docker 25 and later write both, and the OCI one keeps
 * the registry's manifests. */
static int import_images(tarball *t)
{
    sm_blob_source src = {.fetch = fetch, .ctx = t};
    if (t->index_json)
        return sm_import_oci_index(t->imp, t->index_json, t->index_len, &src);
    if (t->manifest_json)
        return docker_manifest(t);
    return sm_fail(EMEDIUMTYPE, "'%s' is neither a docker save nor an OCI archive: it holds "
                   "no manifest.json or index.json", t->imp->path);
}

int sm_import_archive(sm_import *imp)
{
    tarball t = {.imp = imp};
    int err = read_tarball(&t);
    if (!err) {
        if (t.count)
            qsort(t.members, t.count, sizeof *t.members, by_path);
        err = import_images(&t);
    }
    for (size_t i = 0; i < t.count; i++) {
        free(t.members[i].path);
        free(t.members[i].link);
    }
    free(t.members);
    free(t.manifest_json);
    free(t.index_json);
    return err;
}
