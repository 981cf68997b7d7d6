/* docker login and logout: credentials checked against the registry, then
 * kept in Docker's config file (or the credential helper it names), and
 * forgotten again, for the public sm_registry_login and _logout. */
#ifndef SM_OCI_LOGIN_H
#define SM_OCI_LOGIN_H

#include "oci/ref.h"

typedef struct sm_login_server {
    char registry[SM_REF_NAME_MAX];   /* as references name it: "docker.io", "host:port" */
    char key[SM_REF_NAME_MAX];        /* its "auths" key: "https://index.docker.io/v1/", "host:port" */
} sm_login_server;

/* SERVER as docker login takes it ("host[:port]", with or without a
 * scheme or path; NULL or "" is Docker Hub, filed under docker's key
 * "https://index.docker.io/v1/", where pull looks for it too). */
int sm_login_server_parse(const char *server, sm_login_server *out);

/* sm_registry_login and _logout, the options past their size checked by
 * src/lib: insecure_registries may be NULL. */
int sm_oci_login(const char *server, const char *user, const char *password,
                 const char *const *insecure_registries);
int sm_oci_logout(const char *server);

#endif
