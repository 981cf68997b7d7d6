/* The store's list of image names: <root>/images.json maps each name (a
 * normalised reference) to the manifest it stands for. Readers need no lock
 * (the file is replaced by rename); writers serialise on <root>/images.lock. */
#ifndef SM_OCI_STORE_INDEX_H
#define SM_OCI_STORE_INDEX_H

#include <stdint.h>

#include "oci/ref.h"
#include "oci/store.h"

typedef struct sm_index_entry {
    char name[SM_REF_STR_MAX];        /* "docker.io/library/alpine:3.20"; a bare
                                         digest for an image without a name */
    char manifest[SM_DIGEST_STR];     /* the image manifest */
    char index[SM_DIGEST_STR];        /* the index it was picked from, or "" */
    char platform[64];                /* "linux/amd64" */
    int64_t stored;                   /* unix time the name was last set */
} sm_index_entry;

/* All entries, sorted by name; *out is freed by the caller. */
int sm_index_load(const sm_store *s, sm_index_entry **out, size_t *count);
/* Add or replace the entry with e->name. */
int sm_index_put(const sm_store *s, const sm_index_entry *e);
/* Remove one name; -ENOENT when it is not there. */
int sm_index_remove(const sm_store *s, const char *name);

#endif
