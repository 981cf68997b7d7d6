/* sm_image_save: images as one tar that both `docker load` and OCI tools
 * read: an OCI image layout (oci-layout, index.json, blobs/) plus docker's
 * manifest.json naming the same blobs. Blobs go in as stored, compressed
 * layers included, so digests survive the round trip. */
#include "oci/images.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/image_info.h"
#include "oci/store.h"
#include "util/error.h"

typedef struct saver {
    const sm_store *store;
    struct archive *a;
    json_t *written;       /* digests already in the tar */
} saver;

static int tar_error(saver *s, const char *what)
{
    return sm_fail(archive_errno(s->a) > 0 ? archive_errno(s->a) : EIO, "cannot write %s: %s",
                   what, archive_error_string(s->a) ? archive_error_string(s->a) : "error");
}

static int add_header(saver *s, const char *name, int64_t size)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, size);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    int r = archive_write_header(s->a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : tar_error(s, name);
}

static int add_data(saver *s, const char *name, const void *data, size_t len)
{
    int err = add_header(s, name, (int64_t)len);
    if (!err && len && archive_write_data(s->a, data, len) != (la_ssize_t)len)
        err = tar_error(s, name);
    return err;
}

static int add_json(saver *s, const char *name, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    int err = text ? add_data(s, name, text, strlen(text)) : sm_fail(ENOMEM, "out of memory");
    free(text);
    return err;
}

/* A stored blob, copied in chunks under blobs/sha256/. */
static int add_blob(saver *s, const char *digest)
{
    if (json_object_get(s->written, digest))
        return 0;
    char path[4096], name[128];
    sm_store_blob_path(s->store, digest, path, sizeof path);
    snprintf(name, sizeof name, "blobs/sha256/%s", digest + 7);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        return sm_fail(err, "blob %s is missing from the store: %s", digest, strerror(err));
    }
    int err = add_header(s, name, st.st_size);
    char buf[1 << 16];
    ssize_t n;
    while (!err && (n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = sm_fail(errno, "cannot read %s: %s", path, strerror(errno));
        else if (archive_write_data(s->a, buf, (size_t)n) != n)
            err = tar_error(s, name);
    }
    close(fd);
    if (!err)
        json_object_set_new(s->written, digest, json_true());
    return err;
}

static int64_t blob_size(const sm_store *s, const char *digest)
{
    char path[4096];
    struct stat st;
    sm_store_blob_path(s, digest, path, sizeof path);
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* One image: its blobs, its index.json entry and its manifest.json one. */
static int add_image(saver *s, const sm_oci_info *img, json_t *index, json_t *docker)
{
    int err = add_blob(s, img->digest);
    if (!err)
        err = add_blob(s, img->config_digest);
    json_t *layers = json_array();
    char path[128];
    for (size_t i = 0; !err && i < img->layer_count; i++) {
        err = add_blob(s, img->layers[i].digest);
        snprintf(path, sizeof path, "blobs/sha256/%s", img->layers[i].digest + 7);
        json_array_append_new(layers, json_string(path));
    }
    if (err) {
        json_decref(layers);
        return err;
    }
    const char *colon = strrchr(img->name, ':'), *slash = strrchr(img->name, '/');
    const char *tag = colon && (!slash || colon > slash) ? colon + 1 : "";
    json_t *desc = json_pack("{s:s,s:s,s:I}", "mediaType", img->media_type, "digest",
                             img->digest, "size", (json_int_t)blob_size(s->store, img->digest));
    if (img->name[0])
        json_object_set_new(desc, "annotations",
                            json_pack("{s:s,s:s}", "io.containerd.image.name", img->name,
                                      "org.opencontainers.image.ref.name", tag));
    json_array_append_new(index, desc);
    snprintf(path, sizeof path, "blobs/sha256/%s", img->config_digest + 7);
    json_t *repo_tags = json_array();
    if (img->name[0])
        json_array_append_new(repo_tags, json_string(img->name));
    json_array_append_new(docker, json_pack("{s:s,s:o,s:o}", "Config", path, "RepoTags",
                                            repo_tags, "Layers", layers));
    return 0;
}

static int add_all(saver *s, const char *const *refs, size_t n)
{
    json_t *index = json_array(), *docker = json_array();
    int err = add_data(s, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
    for (size_t i = 0; !err && i < n; i++) {
        sm_index_entry *e;
        size_t count;
        sm_oci_info *img = NULL;
        if ((err = sm_image_lookup(s->store, refs[i], &e, &count)) != 0)
            break;
        /* By name: that name; by ID: every name it has. */
        for (size_t k = 0; !err && k < count; k++) {
            if (!(err = sm_image_info_load(s->store, &e[k], &img)))
                err = add_image(s, img, index, docker);
            sm_oci_info_free(img);
            img = NULL;
        }
        free(e);
    }
    if (!err)
        err = add_json(s, "index.json", json_pack("{s:i,s:s,s:O}", "schemaVersion", 2,
                                                   "mediaType",
                                                   "application/vnd.oci.image.index.v1+json",
                                                   "manifests", index));
    if (!err)
        err = add_json(s, "manifest.json", docker);
    json_decref(index);
    json_decref(docker);
    return err;
}

int sm_oci_save(const char *const *refs, size_t n, int fd)
{
    if (!refs || !n || fd < 0)
        return sm_fail(EINVAL, "sm_image_save: images and a file descriptor are required");
    sm_store store;
    int err = sm_store_open(&store, NULL, SM_STORE_SHARED);
    if (err)
        return err;
    saver s = {.store = &store, .a = archive_write_new(), .written = json_object()};
    /* No padding of the last block, wherever fd points: the same images
     * give the same bytes in a file and through a pipe. */
    if (!s.a || archive_write_set_format_pax_restricted(s.a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(s.a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(s.a, fd) != ARCHIVE_OK)
        err = s.a ? tar_error(&s, "the archive") : sm_fail(ENOMEM, "out of memory");
    if (!err)
        err = add_all(&s, refs, n);
    if (s.a && archive_write_close(s.a) != ARCHIVE_OK && !err)
        err = tar_error(&s, "the archive");
    if (s.a)
        archive_write_free(s.a);
    json_decref(s.written);
    sm_store_close(&store);
    return err;
}
