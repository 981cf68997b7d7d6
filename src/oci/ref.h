/* Image references, normalised as Docker does:
 * "alpine" -> docker.io/library/alpine:latest. */
#ifndef SM_OCI_REF_H
#define SM_OCI_REF_H

#include <stddef.h>

#include "oci/digest.h"

#define SM_REF_NAME_MAX 256   /* domain/path, as Docker bounds it (255) */
#define SM_REF_TAG_MAX 129
#define SM_REF_STR_MAX (SM_REF_NAME_MAX + SM_REF_TAG_MAX + SM_DIGEST_STR)

typedef struct sm_ref {
    char domain[SM_REF_NAME_MAX];   /* "docker.io", "localhost:5000", "[::1]:5000" */
    char path[SM_REF_NAME_MAX];     /* "library/alpine" */
    char tag[SM_REF_TAG_MAX];       /* "" when pulled by digest only */
    char digest[SM_DIGEST_STR];     /* "" unless given */
} sm_ref;

/* Parse and normalise; a missing tag and digest means tag "latest". */
int sm_ref_parse(const char *s, sm_ref *out);

/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest". */
void sm_ref_string(const sm_ref *r, char *out, size_t len);

/* "domain/path". */
void sm_ref_repo(const sm_ref *r, char *out, size_t len);

/* The tag or else the digest: what goes after /manifests/ in a request. */
const char *sm_ref_reference(const sm_ref *r);

#endif
