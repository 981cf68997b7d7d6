/* Docker credential helpers (`credsStore`, `credHelpers` in config.json):
 * `docker-credential-NAME get` is given the server on stdin and answers
 * {"ServerURL":..., "Username":..., "Secret":...} on stdout; `store` is
 * given that object, `erase` the server. */
#ifndef SM_OCI_CRED_HELPER_H
#define SM_OCI_CRED_HELPER_H

#include "oci/auth.h"

/* Ask helper NAME for the credentials of `server`. `origin` says where the
 * helper was named (for errors: "\"credsStore\" in /x/config.json").
 * 1 found, 0 the helper has none, negative errno when the helper is missing,
 * fails or answers nonsense. */
int sm_cred_helper_get(const char *name, const char *server, const char *origin,
                       sm_credentials *out);

/* `docker-credential-NAME store`: keep user and secret for `server` (as
 * docker login does with a helper). 0, or a negative errno as for get. */
int sm_cred_helper_store(const char *name, const char *server, const char *user,
                         const char *secret, const char *origin);

/* `docker-credential-NAME erase`: forget `server`'s credentials. 1 erased,
 * 0 the helper had none, negative errno as for get. */
int sm_cred_helper_erase(const char *name, const char *server, const char *origin);

/* How long a helper may take (it may be waiting for a keyring to unlock). */
#define SM_CRED_HELPER_TIMEOUT_MS 60000

#endif
