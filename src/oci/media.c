#include "oci/media.h"

#include <string.h>

static const struct {
    const char *type;
    sm_media_kind kind;
} known[] = {
    {SM_MT_OCI_MANIFEST, SM_MEDIA_MANIFEST},
    {SM_MT_DOCKER_MANIFEST, SM_MEDIA_MANIFEST},
    {SM_MT_OCI_INDEX, SM_MEDIA_INDEX},
    {SM_MT_DOCKER_LIST, SM_MEDIA_INDEX},
    {SM_MT_OCI_CONFIG, SM_MEDIA_CONFIG},
    {SM_MT_DOCKER_CONFIG, SM_MEDIA_CONFIG},
    {SM_MT_OCI_LAYER, SM_MEDIA_LAYER},
    {SM_MT_OCI_LAYER_GZIP, SM_MEDIA_LAYER},
    {SM_MT_OCI_LAYER_ZSTD, SM_MEDIA_LAYER},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", SM_MEDIA_LAYER},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", SM_MEDIA_LAYER},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", SM_MEDIA_LAYER},
    {SM_MT_DOCKER_LAYER, SM_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.diff.tar", SM_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.diff.tar.zstd", SM_MEDIA_LAYER},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", SM_MEDIA_LAYER},
    {"application/vnd.docker.distribution.manifest.v1+json", SM_MEDIA_OLD_MANIFEST},
    {"application/vnd.docker.distribution.manifest.v1+prettyjws", SM_MEDIA_OLD_MANIFEST},
};

sm_media_kind sm_media_kind_of(const char *media_type)
{
    if (!media_type)
        return SM_MEDIA_UNKNOWN;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(media_type, known[i].type))
            return known[i].kind;
    return SM_MEDIA_UNKNOWN;
}
