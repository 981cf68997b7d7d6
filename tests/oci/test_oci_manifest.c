#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "oci/manifest.h"
#include "supermachine.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" SM_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":10},"
    "\"layers\":[{\"mediaType\":\"" SM_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D2 "\",\"size\":20},"
    "{\"mediaType\":\"" SM_MT_OCI_LAYER_ZSTD "\",\"digest\":\"" D3 "\",\"size\":30}]}";

static void parses_an_oci_manifest(void **state)
{
    (void)state;
    sm_manifest m;
    assert_int_equal(sm_manifest_parse(oci_manifest, strlen(oci_manifest), NULL, "m", &m), 0);
    assert_int_equal(m.kind, SM_MEDIA_MANIFEST);
    assert_string_equal(m.config.digest, D1);
    assert_int_equal(m.count, 2);
    assert_string_equal(m.items[1].digest, D3);
    assert_int_equal(m.items[1].size, 30);
    sm_manifest_free(&m);
}

static void takes_the_media_type_from_the_header_when_absent(void **state)
{
    (void)state;
    const char docker[] =
        "{\"schemaVersion\":2,"
        "\"config\":{\"mediaType\":\"" SM_MT_DOCKER_CONFIG "\",\"digest\":\"" D1 "\",\"size\":1},"
        "\"layers\":[{\"mediaType\":\"" SM_MT_DOCKER_LAYER "\",\"digest\":\"" D2 "\",\"size\":2}]}";
    sm_manifest m;
    assert_int_equal(sm_manifest_parse(docker, strlen(docker),
                                       SM_MT_DOCKER_MANIFEST "; charset=utf-8", "m", &m), 0);
    assert_string_equal(m.media_type, SM_MT_DOCKER_MANIFEST);
    sm_manifest_free(&m);
}

static void expect_error(const char *doc, const char *words)
{
    sm_manifest m;
    assert_true(sm_manifest_parse(doc, strlen(doc), NULL, "the manifest of x", &m) < 0);
    if (!strstr(sm_last_error(), words))
        fail_msg("error '%s' does not say '%s'", sm_last_error(), words);
    assert_null(m.items);
}

static void rejects_bad_manifests(void **state)
{
    (void)state;
    expect_error("not json", "is not valid JSON");
    expect_error("[1,2]", "not a JSON object");
    expect_error("{\"schemaVersion\":1,\"fsLayers\":[]}", "schema 1");
    expect_error("{\"schemaVersion\":2,\"mediaType\":\"application/x-unknown\"}",
                 "unknown media type 'application/x-unknown'");
    expect_error("{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
                 "\"config\":{\"mediaType\":\"application/vnd.cncf.helm.config.v1+json\","
                 "\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
                 "not a container image");
    expect_error("{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
                 "\"config\":{\"mediaType\":\"" SM_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":1},"
                 "\"layers\":[{\"mediaType\":\"application/x-tar-foo\",\"digest\":\"" D2 "\",\"size\":1}]}",
                 "layer 1 of the manifest of x has unknown media type 'application/x-tar-foo'");
    expect_error("{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
                 "\"config\":{\"mediaType\":\"" SM_MT_OCI_CONFIG "\",\"digest\":\"sha256:12\",\"size\":1},"
                 "\"layers\":[]}", "malformed digest");
    expect_error("{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
                 "\"config\":{\"mediaType\":\"" SM_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\"},"
                 "\"layers\":[]}", "needs a digest and a size");
    expect_error("{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
                 "\"config\":{\"mediaType\":\"" SM_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":-5},"
                 "\"layers\":[]}", "needs a digest and a size");
    expect_error("{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
                 "\"config\":{\"mediaType\":\"" SM_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":1},"
                 "\"layers\":{}}", "not a list");
}

#define ENTRY(d, os, arch, variant)                                                            \
    "{\"mediaType\":\"" SM_MT_OCI_MANIFEST "\",\"digest\":\"" d "\",\"size\":5,"               \
    "\"platform\":{\"os\":\"" os "\",\"architecture\":\"" arch "\"" variant "}}"

static const char index_doc[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_INDEX "\",\"manifests\":["
    ENTRY(D1, "linux", "arm", ",\"variant\":\"v7\"") ","
    ENTRY(D2, "linux", "arm64", "") ","
    ENTRY(D3, "linux", "amd64", "") ","
    "{\"mediaType\":\"" SM_MT_OCI_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":5,"
    "\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}}]}";

static const char *select_for(const char *platform)
{
    sm_manifest m;
    sm_platform p;
    const sm_descriptor *d;
    static char picked[SM_DIGEST_STR];
    assert_int_equal(sm_manifest_parse(index_doc, strlen(index_doc), NULL, "idx", &m), 0);
    assert_int_equal(sm_platform_parse(platform, &p), 0);
    int err = sm_manifest_select(&m, &p, "alpine", &d);
    snprintf(picked, sizeof picked, "%s", err ? "" : d->digest);
    sm_manifest_free(&m);
    return picked;
}

static void selects_a_platform_from_an_index(void **state)
{
    (void)state;
    assert_string_equal(select_for(NULL), D3);
    assert_string_equal(select_for("linux/amd64"), D3);
    assert_string_equal(select_for("linux/x86_64"), D3);
    assert_string_equal(select_for("linux/arm64"), D2);
    assert_string_equal(select_for("linux/arm64/v8"), D2);   /* v8 is arm64's only variant */
    assert_string_equal(select_for("linux/arm/v7"), D1);
    assert_string_equal(select_for("linux/riscv64"), "");
    assert_string_equal(sm_last_error(), "alpine has no image for linux/riscv64; it offers: "
                        "linux/arm/v7, linux/arm64, linux/amd64");
    assert_string_equal(select_for("linux/arm/v6"), "");
}

static void matches_platforms_as_images_name_them(void **state)
{
    (void)state;
    sm_platform want;
    assert_int_equal(sm_platform_parse("linux/arm64", &want), 0);
    assert_true(sm_platform_matches(&(sm_platform){"linux", "aarch64", ""}, &want));
    assert_true(sm_platform_matches(&(sm_platform){"linux", "arm64", "v8"}, &want));
    assert_false(sm_platform_matches(&(sm_platform){"linux", "amd64", ""}, &want));
    assert_false(sm_platform_matches(&(sm_platform){"windows", "arm64", ""}, &want));
    assert_int_equal(sm_platform_parse("linux/arm64/v8", &want), 0);
    assert_true(sm_platform_matches(&(sm_platform){"linux", "arm64", ""}, &want));
    assert_int_equal(sm_platform_parse("linux/arm/v7", &want), 0);
    assert_false(sm_platform_matches(&(sm_platform){"linux", "arm", "v6"}, &want));
    assert_int_equal(sm_platform_parse("linux/x86_64", &want), 0);
    assert_true(sm_platform_matches(&(sm_platform){"linux", "amd64", ""}, &want));
}

static void rejects_malformed_platforms(void **state)
{
    (void)state;
    sm_platform p;
    assert_true(sm_platform_parse("amd64", &p) < 0);
    assert_non_null(strstr(sm_last_error(), "os/arch"));
    assert_true(sm_platform_parse("linux/amd64/v1/x", &p) < 0);
    assert_int_equal(sm_platform_parse("linux/aarch64", &p), 0);
    assert_string_equal(p.arch, "arm64");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_an_oci_manifest),
        cmocka_unit_test(takes_the_media_type_from_the_header_when_absent),
        cmocka_unit_test(rejects_bad_manifests),
        cmocka_unit_test(selects_a_platform_from_an_index),
        cmocka_unit_test(rejects_malformed_platforms),
        cmocka_unit_test(matches_platforms_as_images_name_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
