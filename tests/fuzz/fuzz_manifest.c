/*
 * libFuzzer harness for the JSON a registry or an archive hands over
 * about an image: the input (after a first byte that picks the HTTP
 * Content-Type it came with, or none) is parsed as a manifest or index,
 * and as an image config with its diff_ids. An index that parses yields a
 * platform's entry from among its own; every digest taken is valid (the
 * store makes file names of them); a platform prints and parses again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config.h"
#include "oci/manifest.h"

static const char *const types[] = {
    NULL, SM_MT_OCI_MANIFEST, SM_MT_OCI_INDEX, SM_MT_DOCKER_MANIFEST, SM_MT_DOCKER_LIST,
    SM_MT_OCI_CONFIG, "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "text/plain",
};

static void check_descriptor(const sm_descriptor *d)
{
    if (!sm_digest_valid(d->digest) || d->size < 0)
        abort();
}

static void manifest(const char *doc, size_t len, const char *type)
{
    sm_manifest m;
    if (sm_manifest_parse(doc, len, type, "the fuzzed manifest", &m) != 0)
        return;
    if (m.kind == SM_MEDIA_MANIFEST)
        check_descriptor(&m.config);
    for (size_t i = 0; i < m.count; i++)
        check_descriptor(&m.items[i]);
    if (m.kind == SM_MEDIA_INDEX) {
        const char *wants[] = {NULL, "linux/arm64", "linux/arm/v7"};
        for (int w = 0; w < 3; w++) {
            sm_platform want;
            const sm_descriptor *d;
            if (sm_platform_parse(wants[w], &want) != 0)
                abort();
            if (sm_manifest_select(&m, &want, "the fuzzed index", &d) == 0 &&
                (d < m.items || d >= m.items + m.count))
                abort();
        }
    }
    sm_manifest_free(&m);
}

static void config(const char *doc, size_t len)
{
    sm_oci_info info;
    memset(&info, 0, sizeof info);
    sm_image_config_parse(doc, len, "the fuzzed config", &info);
    sm_image_config_clear(&info);
    char (*ids)[SM_DIGEST_STR] = NULL;
    size_t n = 0;
    if (sm_image_config_diff_ids(doc, len, "the fuzzed config", &ids, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (!sm_digest_valid(ids[i]))
                abort();
    free(ids);
}

static void platform(const char *doc, size_t len)
{
    char s[128], again[128];
    sm_platform p, q;
    if (len >= sizeof s)
        return;
    memcpy(s, doc, len);
    s[len] = '\0';
    if (sm_platform_parse(s, &p) != 0)
        return;
    sm_platform_string(&p, again, sizeof again);
    if (sm_platform_parse(again, &q) != 0 || memcmp(&p, &q, sizeof p))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *type = types[data[0] % (sizeof types / sizeof *types)];
    /* A copy of exactly the document's bytes, so ASan sees a read past them. */
    char *doc = malloc(size - 1 ? size - 1 : 1);
    if (!doc)
        return 0;
    memcpy(doc, data + 1, size - 1);
    manifest(doc, size - 1, type);
    config(doc, size - 1);
    platform(doc, size - 1);
    free(doc);
    return 0;
}
