/* Import of docker-save tarballs, oci-archive tarballs and OCI layout
 * directories: the parts shared by import_*.c. */
#ifndef SM_OCI_IMPORT_H
#define SM_OCI_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "oci/info.h"
#include "oci/manifest.h"
#include "oci/pull.h"
#include "oci/resolve.h"
#include "oci/store.h"

/* What the import produced so far, and what it was asked. */
typedef struct sm_import {
    const sm_store *store;
    const char *path;               /* the file or directory, for errors */
    sm_platform want;
    const char *extra_name;         /* sm_oci_import_options.name, or NULL */
    /* Images found, written to the store's index only once all succeeded;
     * name "" for an image the archive does not name. */
    struct sm_index_entry *found;
    size_t count;
    const sm_pull_hook *hook;       /* run on each image before it is listed */
} sm_import;

/* What of the public sm_import_options the store's import uses (src/lib
 * checks the size and builds root filesystems through the hook). */
typedef struct sm_oci_import_options {
    const char *platform;           /* for multi-platform archives; NULL: linux/amd64 */
    const char *name;               /* to give the images too; may be NULL */
} sm_oci_import_options;

/* As sm_image_import, with a step of the caller's (building the root
 * filesystem) before each image is listed; a failure there lists none of
 * the archive's images. opts and hook may be NULL. */
int sm_oci_import(const char *path, const sm_oci_import_options *opts, const sm_pull_hook *hook,
                  sm_oci_image_ref **out, size_t *count);

/* Resolve root through src, fetch its layers, and add it to imp->found
 * under `name` (as the archive gives it; "" or a bare tag: none). */
int sm_import_image(sm_import *imp, const sm_descriptor *root, const sm_blob_source *src,
                    const char *name);

/* Import every image an OCI layout's index.json names, or the one for the
 * wanted platform if it names none. */
int sm_import_oci_index(sm_import *imp, const char *index_json, size_t len,
                        const sm_blob_source *src);

/* A tar file (compressed or not): docker save or oci-archive. */
int sm_import_archive(sm_import *imp);

/* An OCI image layout directory. */
int sm_import_layout_dir(sm_import *imp);

/* One image of a docker-save manifest.json, every part already stored:
 * write its manifest and record it under each of its RepoTags. */
typedef struct sm_docker_image {
    const char *config_digest;
    int64_t config_size;
    const char (*layer_digests)[SM_DIGEST_STR];
    const int64_t *layer_sizes;
    size_t layer_count;
    const char *const *names;       /* NULL-terminated RepoTags */
} sm_docker_image;

int sm_import_docker_image(sm_import *imp, const sm_docker_image *img);

#endif
