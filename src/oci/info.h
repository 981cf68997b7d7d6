/* What the store knows of one image, as oci's code fills it in: the fields
 * of the public sm_image_info and sm_image_ref, which src/lib makes of
 * these (and checks that the sizes agree), so that oci needs nothing of
 * the public header. */
#ifndef SM_OCI_INFO_H
#define SM_OCI_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"

#define SM_OCI_NAME_MAX 480   /* a normalised reference, with its NUL */

/* A name and the manifest digest it stands for. */
typedef struct sm_oci_image_ref {
    char name[SM_OCI_NAME_MAX];      /* "" for an image stored without a name */
    char digest[SM_DIGEST_STR];
} sm_oci_image_ref;

typedef struct sm_oci_info_layer {
    char digest[SM_DIGEST_STR];
    char media_type[128];
    uint64_t size;
} sm_oci_info_layer;

typedef struct sm_oci_info_label {
    char *key;
    char *value;
} sm_oci_info_label;

typedef struct sm_oci_info_history {
    char *created;
    char *created_by;
    char *comment;
    int empty_layer;
    uint64_t size;
} sm_oci_info_history;

/* Lists are NULL-terminated; fields the image does not set are NULL. */
typedef struct sm_oci_info {
    char name[SM_OCI_NAME_MAX];              /* "" when it has none */
    char digest[SM_DIGEST_STR];              /* the image manifest */
    char index_digest[SM_DIGEST_STR];        /* the index it came from, or "" */
    char config_digest[SM_DIGEST_STR];
    char media_type[128];                    /* of the manifest */
    char os[32], architecture[32], variant[32];
    char created[64];
    int64_t stored;                          /* unix time it was pulled or imported */
    uint64_t size;                           /* bytes of config and layers */
    size_t layer_count;
    sm_oci_info_layer *layers;
    char **entrypoint;
    char **cmd;
    char **env;
    char *working_dir;
    char *user;
    char **exposed_ports;
    char *stop_signal;
    size_t label_count;
    sm_oci_info_label *labels;
    size_t history_count;                    /* oldest step first */
    sm_oci_info_history *history;
} sm_oci_info;

#endif
