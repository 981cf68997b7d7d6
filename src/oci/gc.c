/* sm_image_gc: delete blobs no named image refers to, and the root
 * filesystems built from them. Runs with the store locked exclusively, so
 * no pull or import is between writing its blobs and naming its image, and
 * no root filesystem is being built (sm_image_open holds the lock shared). */
#include "oci/images.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/gc_rootfs.h"
#include "oci/manifest.h"
#include "oci/store_index.h"
#include "util/error.h"
#include "util/log.h"

typedef struct live_set {
    char (*digests)[SM_DIGEST_STR];
    size_t count, cap;
} live_set;

static int keep(live_set *l, const char *digest)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *d = realloc(l->digests, cap * sizeof *l->digests);
        if (!d)
            return sm_fail(ENOMEM, "out of memory");
        l->digests = d, l->cap = cap;
    }
    snprintf(l->digests[l->count++], SM_DIGEST_STR, "%s", digest);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* An image keeps its manifest, config and layers, and the index it came
 * from; the index's other platforms were never stored. */
static int mark(const sm_store *s, const sm_index_entry *e, live_set *l)
{
    int err = keep(l, e->manifest);
    if (!err && e->index[0])
        err = keep(l, e->index);
    char *data;
    size_t len;
    sm_manifest m;
    if (err || sm_store_read_blob(s, e->manifest, SM_MANIFEST_MAX, &data, &len) < 0)
        return err;   /* a damaged image keeps only what it names directly */
    int perr = sm_manifest_parse(data, len, NULL, e->name, &m);
    free(data);
    if (perr)
        return 0;
    if (m.kind == SM_MEDIA_MANIFEST)
        err = keep(l, m.config.digest);
    for (size_t i = 0; !err && i < m.count; i++)
        err = keep(l, m.items[i].digest);
    sm_manifest_free(&m);
    return err;
}

static bool is_live(const live_set *l, const char *hex)
{
    char digest[SM_DIGEST_STR];
    snprintf(digest, sizeof digest, "sha256:%s", hex);
    return bsearch(digest, l->digests, l->count, sizeof *l->digests, cmp) != NULL;
}

static void delete_blob(const char *dir, const char *name, sm_oci_gc_result *r)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lstat(path, &st) < 0 || unlink(path) < 0)
        return;
    sm_debug("gc: removed %s", path);
    r->blobs_removed++;
    r->bytes_freed += (uint64_t)st.st_size;
}

static int sweep(const sm_store *s, const live_set *l, sm_oci_gc_result *r)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/blobs/sha256", s->root);
    DIR *d = opendir(dir);
    if (!d)
        return sm_fail(errno, "cannot read '%s': %s", dir, strerror(errno));
    for (struct dirent *de; (de = readdir(d)); ) {
        char digest[SM_DIGEST_STR];
        snprintf(digest, sizeof digest, "sha256:%s", de->d_name);
        /* Leftovers of interrupted writes: we hold the lock, so no one
         * is still writing them. */
        if (!strncmp(de->d_name, ".partial-", 9) ||
            (sm_digest_valid(digest) && !is_live(l, de->d_name)))
            delete_blob(dir, de->d_name, r);
    }
    closedir(d);
    return 0;
}

/* Does every layer a root filesystem image lists (src/rootfs/cache.c's
 * <key>.layers) still belong to some image? */
static bool rootfs_live(const live_set *l, const char *list)
{
    FILE *f = fopen(list, "re");
    char line[128];
    bool live = f != NULL, any = false;
    while (live && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        live = sm_digest_valid(line) &&
               bsearch(line, l->digests, l->count, sizeof *l->digests, cmp) != NULL;
        any = true;
    }
    if (f)
        fclose(f);
    return live && any;
}

static bool layers_live(const char *list, void *ctx)
{
    return rootfs_live(ctx, list);
}

/* A crash while the image list was being replaced leaves its temp file. */
static void sweep_root(const sm_store *s)
{
    DIR *d = opendir(s->root);
    for (struct dirent *de; d && (de = readdir(d)); ) {
        if (!strncmp(de->d_name, "images.json.tmp-", 16)) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", s->root, de->d_name);
            unlink(path);
        }
    }
    if (d)
        closedir(d);
}

static int collect(const sm_store *s, sm_oci_gc_result *r)
{
    sm_index_entry *e;
    size_t n;
    live_set l = {0};
    int err = sm_index_load(s, &e, &n);
    if (err)
        return err;
    for (size_t i = 0; !err && i < n; i++)
        err = mark(s, &e[i], &l);
    free(e);
    if (!err) {
        qsort(l.digests, l.count, sizeof *l.digests, cmp);
        err = sweep(s, &l, r);
        sweep_root(s);
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/rootfs", s->root);
        sm_gc_rootfs(dir, layers_live, &l, &r->bytes_freed);
    }
    free(l.digests);
    return err;
}

int sm_oci_gc(sm_oci_gc_result *r)
{
    sm_store s;
    int err = sm_store_open(&s, NULL, SM_STORE_EXCLUSIVE);
    if (err)
        return err;
    r->swept = 1;
    err = collect(&s, r);
    sm_store_close(&s);
    return err;
}
