/* The media types supermachine understands. */
#ifndef SM_OCI_MEDIA_H
#define SM_OCI_MEDIA_H

#include <stdbool.h>

#define SM_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define SM_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define SM_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define SM_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define SM_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define SM_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define SM_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define SM_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define SM_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define SM_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* The Accept header for manifest requests: every form we can read. */
#define SM_MANIFEST_ACCEPT \
    SM_MT_OCI_INDEX ", " SM_MT_OCI_MANIFEST ", " SM_MT_DOCKER_LIST ", " SM_MT_DOCKER_MANIFEST

/* Bounds on what is read into memory. */
#define SM_MANIFEST_MAX (4u << 20)
#define SM_CONFIG_MAX (8u << 20)

typedef enum sm_media_kind {
    SM_MEDIA_UNKNOWN = 0,
    SM_MEDIA_MANIFEST,      /* OCI or Docker v2 image manifest */
    SM_MEDIA_INDEX,         /* OCI index or Docker manifest list */
    SM_MEDIA_CONFIG,
    SM_MEDIA_LAYER,         /* a tar, compressed or not */
    SM_MEDIA_OLD_MANIFEST,  /* Docker schema 1, which we refuse */
} sm_media_kind;

sm_media_kind sm_media_kind_of(const char *media_type);

#endif
