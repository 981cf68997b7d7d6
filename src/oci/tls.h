/* A registry's TLS settings, from docker's per-registry certificate
 * directory: /etc/docker/certs.d/<host[:port]>/ (or $SUPERMACHINE_CERTS_DIR
 * instead of /etc/docker/certs.d) holding
 *   *.crt           CA certificates trusted for this registry, in addition
 *                   to the system's;
 *   NAME.cert/.key  a client certificate and its key (mutual TLS). */
#ifndef SM_OCI_TLS_H
#define SM_OCI_TLS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define SM_CERTS_DIR_DEFAULT "/etc/docker/certs.d"

typedef struct sm_tls {
    char dir[PATH_MAX];          /* <certs dir>/<host[:port]>, present or not */
    bool present;                /* that directory exists */
    char *ca_pem;                /* the *.crt files, concatenated; NULL: none */
    size_t ca_len;
    char client_cert[PATH_MAX];  /* "" when none */
    char client_key[PATH_MAX];
} sm_tls;

/* Read the directory for `domain` (a reference's "host[:port]"). 0 whether
 * or not it exists; a negative errno for a file that cannot be read or a
 * client certificate without its key. */
int sm_tls_load(const char *domain, sm_tls *out);
void sm_tls_free(sm_tls *t);

/* Called by libcurl with the OpenSSL SSL_CTX of a new connection: adds
 * t's CAs to those the system trusts. */
int sm_tls_add_cas(void *ssl_ctx, const sm_tls *t);

#endif
