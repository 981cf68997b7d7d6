/* Image manifests and indexes (OCI and Docker v2), parsed and checked, and
 * platform selection from an index. */
#ifndef SM_OCI_MANIFEST_H
#define SM_OCI_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"
#include "oci/media.h"
#include "oci/ref.h"

#define SM_LAYERS_MAX 1024
#define SM_INDEX_ENTRIES_MAX 4096

typedef struct sm_platform {
    char os[32], arch[32], variant[32];
} sm_platform;

typedef struct sm_descriptor {
    char media_type[128];
    char digest[SM_DIGEST_STR];
    int64_t size;
    sm_platform platform;          /* index entries only; "" when absent */
    char name[SM_REF_STR_MAX];     /* index entries of a layout: the image name
                                      or tag annotation, "" when absent */
} sm_descriptor;

typedef struct sm_manifest {
    sm_media_kind kind;            /* SM_MEDIA_MANIFEST or SM_MEDIA_INDEX */
    char media_type[128];
    sm_descriptor config;          /* manifests only */
    sm_descriptor *items;          /* the layers, or the index's manifests */
    size_t count;
} sm_manifest;

/* Parse `data`; content_type (may be NULL) is the HTTP Content-Type, used
 * when the document does not name its own media type. `what` names the
 * document in errors ("the manifest of alpine:3.20"). */
int sm_manifest_parse(const char *data, size_t len, const char *content_type,
                      const char *what, sm_manifest *out);
void sm_manifest_free(sm_manifest *m);

/* "os/arch[/variant]"; NULL or "" gives linux/amd64. */
int sm_platform_parse(const char *s, sm_platform *out);
void sm_platform_string(const sm_platform *p, char *out, size_t len);
/* An image of platform `have` (as an index or a config names it: "x86_64"
 * is amd64, arm64 without a variant is v8) runs on `want` (parsed);
 * `want` without a variant takes any. */
bool sm_platform_matches(const sm_platform *have, const sm_platform *want);

/* The entry of index `m` that runs on `want`; errors list what is offered. */
int sm_manifest_select(const sm_manifest *m, const sm_platform *want, const char *what,
                       const sm_descriptor **out);

#endif
