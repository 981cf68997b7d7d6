/* A session with one repository of one registry (OCI distribution spec):
 * the /v2/ probe, Basic and bearer-token authentication, and GETs of
 * manifests and blobs, verified against their digests. Safe to use from
 * several threads, each with its own sm_http. */
#ifndef SM_OCI_REGISTRY_H
#define SM_OCI_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "oci/auth.h"
#include "oci/http.h"
#include "oci/manifest.h"
#include "oci/ref.h"
#include "oci/store.h"
#include "oci/tls.h"
#include "util/file_feed.h"

typedef struct sm_registry {
    sm_ref ref;
    char base[SM_REF_NAME_MAX + 16];  /* "https://registry-1.docker.io" */
    bool plain_http_ok;               /* loopback, or named insecure */
    sm_tls tls;                       /* from /etc/docker/certs.d/<domain>/ */
    sm_credentials creds;
    bool have_creds;
    bool push;                        /* tokens are asked for pull and push */
    pthread_mutex_t lock;             /* guards what follows */
    bool probed;
    char *authorization;              /* the Authorization value, or NULL */
    unsigned auth_generation;
} sm_registry;

/* insecure: NULL-terminated hosts allowed plain HTTP; creds NULL: look in
 * Docker's config file. Makes no request yet. A registry with a
 * certificates directory is reached over HTTPS even when it may be reached
 * over plain HTTP (loopback, insecure). */
int sm_registry_open(sm_registry *r, const sm_ref *ref, const char *const *insecure,
                     const sm_credentials *creds);
void sm_registry_close(sm_registry *r);

/* true for 127.0.0.0/8, ::1 and localhost, with or without a port. */
bool sm_registry_is_loopback(const char *domain);

/* GET /v2/ with our credentials, answering a Basic or bearer challenge (a
 * login's check; the ref's path may be empty). 0 when the registry takes
 * them, -EACCES when it refuses them (or wants some and has none). */
int sm_registry_ping(sm_registry *r, sm_http *h);

/* GET a manifest by tag or digest; the body is checked against the digest
 * asked for, or else the Docker-Content-Digest header. Free *body. */
int sm_registry_get_manifest(sm_registry *r, sm_http *h, const char *reference,
                             char **body, size_t *len, char content_type[128],
                             char digest[SM_DIGEST_STR]);

/* Any request to the registry (req->url in full), after the /v2/ probe,
 * with our credentials; a 401 is answered once and then returned as the
 * response. */
int sm_registry_send(sm_registry *r, sm_http *h, sm_http_request *req, sm_http_response *resp);

/* Download a blob into the store, verified; bytes_done counts progress
 * (may be NULL) and cancel (may be NULL) stops it early; feed (may be NULL)
 * hears of every byte written, so that the blob can be read as it arrives
 * (the caller ends the feed). */
int sm_registry_get_blob(sm_registry *r, sm_http *h, const sm_store *s, const sm_descriptor *d,
                         const char *what, _Atomic uint64_t *bytes_done, atomic_int *cancel,
                         sm_file_feed *feed);

#endif
