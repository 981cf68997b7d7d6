/* A docker-save image has no manifest, only a config and layer tarballs:
 * write the OCI manifest a registry would hold for it. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci/config.h"
#include "oci/import.h"
#include "util/error.h"

/* Label a layer by its bytes: docker save writes plain tars, but newer
 * Docker versions keep the compressed blobs they pulled. */
static const char *layer_media_type(const sm_store *s, const char *digest)
{
    char path[PATH_MAX];
    unsigned char magic[4] = {0};
    sm_store_blob_path(s, digest, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, magic, sizeof magic) < 0)
            magic[0] = 0;
        close(fd);
    }
    if (magic[0] == 0x1f && magic[1] == 0x8b)
        return SM_MT_OCI_LAYER_GZIP;
    if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        return SM_MT_OCI_LAYER_ZSTD;
    return SM_MT_OCI_LAYER;
}

static json_t *descriptor(const char *media_type, const char *digest, int64_t size)
{
    return json_pack("{s:s,s:s,s:I}", "mediaType", media_type, "digest", digest, "size",
                     (json_int_t)size);
}

static json_t *manifest_json(const sm_store *s, const sm_docker_image *img)
{
    json_t *layers = json_array();
    for (size_t i = 0; layers && i < img->layer_count; i++) {
        const char *mt = layer_media_type(s, img->layer_digests[i]);
        if (json_array_append_new(layers, descriptor(mt, img->layer_digests[i],
                                                     img->layer_sizes[i])) < 0) {
            json_decref(layers);
            return NULL;
        }
    }
    return json_pack("{s:i,s:s,s:o,s:o}", "schemaVersion", 2, "mediaType", SM_MT_OCI_MANIFEST,
                     "config", descriptor(SM_MT_OCI_CONFIG, img->config_digest, img->config_size),
                     "layers", layers);
}

/* The config's diff_ids are the digests of the uncompressed layers, which
 * for a plain tar is the layer's own digest: a cheap end-to-end check. */
static int check_diff_ids(sm_import *imp, const sm_docker_image *img)
{
    char *data, what[4200], (*ids)[SM_DIGEST_STR] = NULL;
    size_t len, n = 0;
    snprintf(what, sizeof what, "the config %s in '%s'", img->config_digest, imp->path);
    int err = sm_store_read_blob(imp->store, img->config_digest, SM_CONFIG_MAX, &data, &len);
    if (!err) {
        err = sm_image_config_diff_ids(data, len, what, &ids, &n);
        free(data);
    }
    if (!err && n != img->layer_count)
        err = sm_fail(EBADMSG, "%s lists %zu layers, but manifest.json %zu", what, n,
                      img->layer_count);
    for (size_t i = 0; !err && i < n; i++) {
        if (strcmp(layer_media_type(imp->store, img->layer_digests[i]), SM_MT_OCI_LAYER))
            continue;
        if (strcmp(ids[i], img->layer_digests[i]))
            err = sm_fail(EBADMSG, "layer %zu in '%s' does not match its image config: its "
                          "digest is %s, the config's diff_id %s", i + 1, imp->path,
                          img->layer_digests[i], ids[i]);
    }
    free(ids);
    return err;
}

static int store_present(void *ctx, const sm_descriptor *d, bool is_manifest, const char *what)
{
    (void)is_manifest;
    if (sm_store_has_blob(ctx, d->digest))
        return 0;
    return sm_fail(ENOENT, "%s is missing", what);
}

int sm_import_docker_image(sm_import *imp, const sm_docker_image *img)
{
    int err = check_diff_ids(imp, img);
    json_t *m = err ? NULL : manifest_json(imp->store, img);
    char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    if (!err && !text)
        err = sm_fail(ENOMEM, "out of memory");
    sm_descriptor root = {.media_type = SM_MT_OCI_MANIFEST};
    if (!err) {
        root.size = (int64_t)strlen(text);
        err = sm_store_put_blob(imp->store, "a manifest", text, strlen(text), NULL, root.digest);
    }
    free(text);
    sm_blob_source src = {.fetch = store_present, .ctx = (void *)imp->store};
    if (!err && !img->names[0])
        err = sm_import_image(imp, &root, &src, "");
    for (size_t i = 0; !err && img->names[i]; i++)
        err = sm_import_image(imp, &root, &src, img->names[i]);
    return err;
}
