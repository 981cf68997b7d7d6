/* Docker's config file ($DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json): read whole and checked before any of it is used,
 * so that a damaged file is reported as such rather than read as "no
 * credentials" (which later shows as "requires a login"). */
#ifndef SM_OCI_DOCKER_CONFIG_H
#define SM_OCI_DOCKER_CONFIG_H

#include <jansson.h>
#include <stddef.h>

/* The file's path into `path`; *out is NULL when there is no file (or an
 * empty one). A file that cannot be read, is not JSON, or has a setting
 * supermachine reads ("auths", "credHelpers", "credsStore") of the wrong
 * type is an error naming the file and what is wrong. */
int sm_docker_config_load(char *path, size_t len, json_t **out);

#endif
