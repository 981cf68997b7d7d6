/* Registry authentication: WWW-Authenticate challenges, Docker's
 * credentials file and bearer token responses. */
#ifndef SM_OCI_AUTH_H
#define SM_OCI_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sm_challenge {
    char scheme[16];      /* "Bearer" or "Basic" */
    char realm[1024];
    char service[256];
    char scope[1024];
} sm_challenge;

/* Parse `Bearer realm="...",service="...",scope="..."`. */
int sm_challenge_parse(const char *header, sm_challenge *out);

typedef struct sm_credentials {
    char username[256];
    char password[4096];
    /* password is an OAuth2 refresh token (a helper's "<token>" user),
     * traded at the token server rather than sent as a password. */
    bool identity_token;
} sm_credentials;

/* Look `registry` (a reference's domain) up in $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json as docker does: its "credHelpers" entry, else the
 * "credsStore" helper, else its "auths" entry. 1 found, 0 none, negative
 * errno when a helper is missing or fails. */
int sm_docker_credentials(const char *registry, sm_credentials *out);

/* Whether an "auths" or "credHelpers" key of Docker's config file names
 * `registry` (a reference's domain), in any of the forms `docker login`
 * has written ("host:port", "https://host/v1/", Docker Hub's aliases). */
bool sm_auth_key_matches(const char *key, const char *registry);

/* The credential helper configured for `registry` in a loaded config
 * file (its "credHelpers" entry, else "credsStore"), or NULL; *setting
 * says which of the two named it. */
const char *sm_docker_config_helper(json_t *root, const char *registry, const char **setting);

/* The token of a token-server response ({"token": ...} or
 * {"access_token": ...}); *token is freed by the caller. */
int sm_token_parse(const char *body, size_t len, const char *realm, char **token);

/* "Basic <base64(user:password)>" into out (of SM_BASIC_AUTH_MAX bytes
 * it always fits). */
#define SM_BASIC_AUTH_MAX 6000
void sm_basic_authorization(const sm_credentials *c, char *out, size_t len);

#endif
