/* Chains of root filesystem images: <key>.parent files, one key a line,
 * link a delta to the image it builds on. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rootfs/rootfs.h"
#include "util/error.h"
#include "util/file.h"

static bool is_key(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* 1 with the parent's key, 0 for an image that builds on nothing. */
static int read_parent(const char *dir, const char *key, char parent[65])
{
    char path[PATH_MAX], line[80] = "";
    snprintf(path, sizeof path, "%s/%s.parent", dir, key);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : sm_fail(errno, "cannot read %s: %s", path, strerror(errno));
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    if (!ok || !is_key(line) || !strcmp(line, key))
        return sm_fail(EINVAL, "%s does not name a root filesystem image", path);
    snprintf(parent, 65, "%s", line);
    return 1;
}

int sm_rootfs_chain_read(const char *dir, const char *key, sm_rootfs_chain *out)
{
    char cur[65];
    snprintf(cur, sizeof cur, "%s", key);
    out->n = 0;
    for (;;) {
        if (out->n == SM_ROOTFS_MAX_CHAIN)
            return sm_fail(ELOOP, "root filesystem %s builds on more than %d images", key,
                           SM_ROOTFS_MAX_CHAIN);
        char *path = out->paths[out->n];
        if ((size_t)snprintf(path, PATH_MAX, "%s/%s.ext4", dir, cur) >= PATH_MAX)
            return sm_fail(ENAMETOOLONG, "the data directory path is too long");
        if (access(path, F_OK) != 0)
            return sm_fail(ENOENT, "root filesystem image %s is missing", path);
        snprintf(out->keys[out->n++], 65, "%s", cur);
        int r = read_parent(dir, cur, cur);
        if (r <= 0)
            return r;
    }
}

int sm_rootfs_parent_write(const char *dir, const char *key, const char *parent)
{
    char path[PATH_MAX], text[80];
    snprintf(path, sizeof path, "%s/%s.parent", dir, key);
    int len = snprintf(text, sizeof text, "%s\n", parent);
    return sm_file_write_atomic(path, text, (size_t)len, 0600);
}

int sm_rootfs_find_base(const sm_rootfs_layer *layers, size_t n, const char *dir,
                        size_t *base_n, sm_rootfs_chain *base)
{
    for (size_t k = n - 1; k >= 1 && k < n; k--) {
        char key[65];
        int err = sm_rootfs_cache_key(layers, k, key);
        if (err)
            return err;
        if (sm_rootfs_chain_read(dir, key, base) == 0 && base->n < SM_ROOTFS_MAX_CHAIN) {
            *base_n = k;
            return 1;
        }
    }
    sm_clear_error();
    return 0;
}
