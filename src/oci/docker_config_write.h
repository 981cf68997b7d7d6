/* Editing Docker's config file for login and logout: pure functions on the
 * loaded JSON (every other key and entry kept as it was), and an atomic
 * save with docker's modes. Loading stays sm_docker_config_load's, so a
 * damaged file is refused before anything is written. */
#ifndef SM_OCI_DOCKER_CONFIG_WRITE_H
#define SM_OCI_DOCKER_CONFIG_WRITE_H

#include <jansson.h>
#include <stddef.h>

/* Record a login to `registry` (a reference's domain) under `key` in
 * root's "auths" (made if missing): {"auth": base64(user:password)}, or
 * {} when user is NULL (a helper holds the secret; docker leaves this
 * placeholder). Other keys naming the same registry ("http://host",
 * "https://host/v1/") are removed, so that pull cannot find a stale one
 * first. 0, or a negative errno. */
int sm_docker_config_put_auth(json_t *root, const char *registry, const char *key,
                              const char *user, const char *password);

/* Remove every "auths" key naming `registry`; how many there were. */
int sm_docker_config_drop_auth(json_t *root, const char *registry);

/* Write root to `path` as docker does: the directory made (0700) if
 * missing, a symbolic link followed to its target, the file replaced
 * atomically with mode 0600. */
int sm_docker_config_save(const char *path, const json_t *root);

#endif
