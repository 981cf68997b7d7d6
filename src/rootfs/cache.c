#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs/rootfs.h"
#include "util/error.h"
#include "util/file.h"
#include "util/log.h"

int sm_rootfs_cache_key(const sm_rootfs_layer *layers, size_t n, char key[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return sm_fail(ENOMEM, "cannot start a SHA-256 hash");
    }
    char head[64];
    int len = snprintf(head, sizeof head, "supermachine-rootfs-ext4-v%d\n", SM_ROOTFS_FORMAT);
    EVP_DigestUpdate(ctx, head, (size_t)len);
    for (size_t i = 0; i < n; i++) {
        if (!layers[i].digest || !*layers[i].digest) {
            EVP_MD_CTX_free(ctx);
            return sm_fail(EINVAL, "layer %zu of %zu has no digest", i + 1, n);
        }
        EVP_DigestUpdate(ctx, layers[i].digest, strlen(layers[i].digest));
        EVP_DigestUpdate(ctx, "\n", 1);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < 32; i++)
        snprintf(key + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return sm_fail(errno, "cannot create '%s': %s", path, strerror(errno));
    return 0;
}

/* <key>.layers, written (atomically) before the image it describes. */
static int write_layer_list(const char *dir, const char *key, const sm_rootfs_layer *layers,
                            size_t n)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (size_t i = 0; f && i < n; i++)
        fprintf(f, "%s\n", layers[i].digest);
    if (!f || fclose(f) != 0) {
        free(text);
        return sm_fail(ENOMEM, "out of memory");
    }
    snprintf(path, sizeof path, "%s/%s.layers", dir, key);
    int err = sm_file_write_atomic(path, text, len, 0600);
    free(text);
    return err;
}

/* As a delta over the longest prefix already built, else in full. The
 * parent link is there before the image, and gone before a full image. */
static int build_best(const sm_rootfs_layer *layers, size_t n, const char *dir,
                      const char *key, const char *image, const sm_rootfs_options *opts)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/%s.parent", dir, key);
    sm_rootfs_chain *base = malloc(sizeof *base);
    size_t base_n = 0;
    int found = base ? sm_rootfs_find_base(layers, n, dir, &base_n, base) : 0;
    if (found > 0) {
        const char *lower[SM_ROOTFS_MAX_CHAIN];
        for (size_t i = 0; i < base->n; i++)
            lower[i] = base->paths[i];
        int err = sm_rootfs_parent_write(dir, key, base->keys[0]);
        if (!err)
            err = sm_rootfs_build_delta(layers, n, base_n, lower, base->n, image, opts);
        if (!err) {
            free(base);
            return 0;
        }
        sm_debug("rootfs: building %s in full, not over %s: %s", key, base->keys[0],
                 sm_error_text());
        sm_clear_error();
    }
    free(base);
    if (unlink(parent) < 0 && errno != ENOENT)
        return sm_fail(errno, "cannot remove '%s': %s", parent, strerror(errno));
    return sm_rootfs_build(layers, n, image, opts);
}

/* One builder per image at a time: others wait on the lock, then find it. */
static int build_locked(const sm_rootfs_layer *layers, size_t n, const char *dir,
                        const char *key, sm_rootfs_chain *out, const sm_rootfs_options *opts)
{
    char lock[PATH_MAX], image[PATH_MAX];
    snprintf(lock, sizeof lock, "%s/%s.lock", dir, key);
    snprintf(image, sizeof image, "%s/%s.ext4", dir, key);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sm_fail(errno, "cannot create '%s': %s", lock, strerror(errno));
    int err = 0;
    while (flock(fd, LOCK_EX) < 0 && !err)
        if (errno != EINTR)
            err = sm_fail(errno, "cannot lock '%s': %s", lock, strerror(errno));
    if (!err && sm_rootfs_chain_read(dir, key, out) != 0) {
        sm_clear_error();
        /* An image whose base is gone (deleted by hand) is built anew. */
        if (unlink(image) < 0 && errno != ENOENT)
            err = sm_fail(errno, "cannot remove '%s': %s", image, strerror(errno));
        if (!err)
            err = write_layer_list(dir, key, layers, n);
        if (!err)
            err = build_best(layers, n, dir, key, image, opts);
        if (!err)
            err = sm_rootfs_chain_read(dir, key, out);
    }
    if (!err)
        unlink(lock); /* a waiter holding the old inode finds the image anyway */
    close(fd);
    return err;
}

int sm_rootfs_get_chain(const sm_rootfs_layer *layers, size_t n, const sm_rootfs_options *opts,
                        sm_rootfs_chain *out)
{
    if (!opts || !opts->data_dir)
        return sm_fail(EINVAL, "no data directory for the root filesystem cache");
    char key[65], dir[PATH_MAX];
    int err = sm_rootfs_cache_key(layers, n, key);
    if (err)
        return err;
    if ((size_t)snprintf(dir, sizeof dir, "%s/rootfs", opts->data_dir) >= sizeof dir - 70)
        return sm_fail(ENAMETOOLONG, "the data directory path is too long");
    if (sm_rootfs_chain_read(dir, key, out) == 0)
        return 0;
    sm_clear_error();
    err = make_dir(opts->data_dir);
    if (!err)
        err = make_dir(dir);
    if (!err)
        err = build_locked(layers, n, dir, key, out, opts);
    return err;
}

int sm_rootfs_get(const sm_rootfs_layer *layers, size_t n, const sm_rootfs_options *opts,
                  char *path, size_t path_len)
{
    sm_rootfs_chain *c = malloc(sizeof *c);
    if (!c)
        return sm_fail(ENOMEM, "out of memory");
    int err = sm_rootfs_get_chain(layers, n, opts, c);
    if (!err && (size_t)snprintf(path, path_len, "%s", c->paths[0]) >= path_len)
        err = sm_fail(ENAMETOOLONG, "the data directory path is too long");
    free(c);
    return err;
}
