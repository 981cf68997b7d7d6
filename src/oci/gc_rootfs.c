/* The root filesystem images gc deletes: those built from layers no image
 * has any more, unless a delta that stays builds on them; deltas whose
 * base is gone (they cannot be used, and are built anew on first use);
 * and what interrupted builds leave. */
#include "oci/gc_rootfs.h"

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

typedef struct built {
    char key[65];
    char parent[65];    /* "" for a full image */
    bool live;
} built;

static bool ends_with(const char *s, size_t n, const char *tail)
{
    size_t t = strlen(tail);
    return n > t && !strcmp(s + n - t, tail);
}

static bool exists(const char *dir, const char *key, const char *ext)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s%s", dir, key, ext);
    return access(path, F_OK) == 0;
}

/* What a build that failed or was killed leaves: its lock, its lists'
 * temp files, an image written but not renamed into place (one killed
 * right before its commit), a list without an image. gc holds the store
 * exclusively, so no build is running to own them. */
static bool leftover(const char *dir, const char *name, size_t n)
{
    if (ends_with(name, n, ".lock") || strstr(name, ".tmp"))
        return true;
    size_t stem = ends_with(name, n, ".layers") ? n - 7 : ends_with(name, n, ".parent") ? n - 7 : 0;
    if (!stem)
        return false;
    char key[PATH_MAX];
    snprintf(key, sizeof key, "%.*s", (int)stem, name);
    return !exists(dir, key, ".ext4");
}

static void read_parent(const char *dir, const char *key, char parent[65])
{
    char path[PATH_MAX], line[80] = "";
    snprintf(path, sizeof path, "%s/%s.parent", dir, key);
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    snprintf(parent, 65, "%s", strlen(line) == 64 ? line : "");
}

static built *find(built *b, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(b[i].key, key))
            return &b[i];
    return NULL;
}

/* Whether every image below b is there (a delta over a deleted image
 * cannot be used). The depth bound stops a loop of hand-made links. */
static bool complete(const char *dir, built *all, size_t n, const built *b)
{
    for (int depth = 0; b && b->parent[0] && depth < 64; depth++) {
        if (!exists(dir, b->parent, ".ext4"))
            return false;
        b = find(all, n, b->parent);
    }
    return true;
}

static void keep_bases(built *all, size_t n, const built *b)
{
    for (int depth = 0; b && b->parent[0] && depth < 64; depth++) {
        built *p = find(all, n, b->parent);
        if (p)
            p->live = true;
        b = p;
    }
}

static void remove_image(const char *dir, const char *key, uint64_t *freed)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s.ext4", dir, key);
    if (lstat(path, &st) == 0 && unlink(path) == 0) {
        sm_debug("gc: removed %s", path);
        *freed += (uint64_t)st.st_blocks * 512;   /* the image is sparse */
    }
    snprintf(path, sizeof path, "%s/%s.parent", dir, key);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s.layers", dir, key);
    unlink(path);
}

/* Images listed by a <key>.layers, each live when its layers are. Images
 * without one are left alone: nothing says what they hold. */
static built *list_built(const char *dir, sm_layers_live_fn live, void *ctx, size_t *count)
{
    DIR *d = opendir(dir);
    built *all = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; d && (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (leftover(dir, de->d_name, len)) {
            sm_debug("gc: removed %s", path);
            unlink(path);
            continue;
        }
        if (!ends_with(de->d_name, len, ".layers") || len - 7 != 64)
            continue;
        if (n == cap) {
            built *more = realloc(all, (cap = cap ? 2 * cap : 32) * sizeof *all);
            if (!more)
                break; /* keeps what it cannot judge */
            all = more;
        }
        built *b = &all[n++];
        snprintf(b->key, sizeof b->key, "%.64s", de->d_name);
        read_parent(dir, b->key, b->parent);
        b->live = live(path, ctx);
    }
    if (d)
        closedir(d);
    *count = n;
    return all;
}

void sm_gc_rootfs(const char *dir, sm_layers_live_fn live, void *ctx, uint64_t *freed)
{
    size_t n;
    built *all = list_built(dir, live, ctx, &n);
    for (size_t i = 0; i < n; i++)
        all[i].live = all[i].live && complete(dir, all, n, &all[i]);
    for (size_t i = 0; i < n; i++)
        if (all[i].live)
            keep_bases(all, n, &all[i]);
    for (size_t i = 0; i < n; i++)
        if (!all[i].live)
            remove_image(dir, all[i].key, freed);
    free(all);
}
