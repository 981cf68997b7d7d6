/* sm_image_push: the parts that talk to the registry (push_blob.c) and the
 * walk over what an image holds (push.c). */
#ifndef SM_OCI_PUSH_H
#define SM_OCI_PUSH_H

#include <stdint.h>

#include "oci/http.h"
#include "oci/info.h"
#include "oci/manifest.h"
#include "oci/registry.h"
#include "oci/store.h"

/* The fields of the public sm_push_progress (src/lib passes them on). */
typedef struct sm_oci_push_progress {
    const char *name;          /* the normalised reference being pushed */
    uint32_t blobs;            /* configs and layers */
    uint32_t blobs_done;       /* of them, found in the registry or uploaded */
    uint32_t blobs_uploaded;   /* of those, uploaded */
    uint64_t bytes;
    uint64_t bytes_done;
    int finished;              /* 1 on the last report */
} sm_oci_push_progress;

/* The fields of the public sm_push_options past its size, which src/lib
 * checks; progress is oci's own. */
typedef struct sm_oci_push_options {
    const char *const *insecure_registries;
    const char *username;           /* NULL: Docker's config file */
    const char *password;
    void (*progress)(const sm_oci_push_progress *p, void *ctx);   /* may be NULL */
    void *progress_ctx;
} sm_oci_push_options;

/* As sm_image_push; out may be NULL. */
int sm_oci_push(const char *reference, const sm_oci_push_options *o, sm_oci_image_ref *out);

/* One push under way. */
typedef struct sm_pusher {
    sm_registry *reg;
    sm_http *http;
    const sm_store *store;
    const char *name;             /* the normalised reference, for messages */
    sm_oci_push_progress progress;
    void (*report)(const sm_oci_push_progress *p, void *ctx);   /* may be NULL */
    void *report_ctx;
    uint64_t last_report_ns;      /* monotonic; reports are a few a second */
    uint64_t blob_base;           /* progress.bytes_done before this blob */
} sm_pusher;

/* The URL a blob's bytes go to: `location` (the Location of the POST that
 * opened the upload: a full URL, or one relative to `request_url`) with
 * "digest=<digest>" added to its query. Free *out with free(). */
int sm_push_upload_url(const char *request_url, const char *location, const char *digest,
                       char **out);

/* Upload the stored blob `d` unless the registry has it already. */
int sm_push_blob(sm_pusher *p, const sm_descriptor *d, const char *what);

/* PUT a manifest or index, the stored bytes of `digest`, under `reference`
 * (a tag, or the digest itself) with media_type as its Content-Type. */
int sm_push_manifest(sm_pusher *p, const char *digest, const char *media_type,
                     const char *reference, const char *what);

/* A refusal of the registry's, as one line; -EACCES for 401 and 403. */
int sm_push_refused(const sm_pusher *p, const sm_http_response *resp, const char *what);

/* Tell the caller how far the push is; finished forces a report. */
void sm_push_report(sm_pusher *p, int finished);

#endif
