/* Import of docker-save and OCI archives built here with libarchive: names,
 * symlinked layers, and each way an archive can be wrong. */
#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "oci/digest.h"
#include "supermachine.h"

#define CONFIG_JSON "{\"os\":\"linux\",\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"sh\"]}," \
                    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}"

typedef struct entry {
    const char *path;
    const char *data;     /* NULL: a symlink to `link` */
    const char *link;
} entry;

typedef struct fx {
    char dir[64], tar[128];
    char layer[64], layer_digest[SM_DIGEST_STR];
    char config[512], config_digest[SM_DIGEST_STR];
    char manifest[1024], manifest_digest[SM_DIGEST_STR];
    char blob_path[3][128];   /* blobs/sha256/<hex> of config, layer, manifest */
} fx;

static void write_tar(const char *path, const entry *e, size_t n, int gzip)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gzip)
        archive_write_add_filter_gzip(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *ae = archive_entry_new();
        archive_entry_set_pathname(ae, e[i].path);
        if (e[i].data) {
            archive_entry_set_filetype(ae, AE_IFREG);
            archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
        } else {
            archive_entry_set_filetype(ae, AE_IFLNK);
            archive_entry_set_symlink(ae, e[i].link);
        }
        archive_entry_set_perm(ae, 0644);
        archive_write_header(a, ae);
        if (e[i].data)
            archive_write_data(a, e[i].data, strlen(e[i].data));
        archive_entry_free(ae);
    }
    archive_write_free(a);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-import-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char store[96];
    snprintf(store, sizeof store, "%s/store", f->dir);
    setenv("SUPERMACHINE_DATA_DIR", store, 1);
    snprintf(f->tar, sizeof f->tar, "%s/image.tar", f->dir);
    snprintf(f->layer, sizeof f->layer, "pretend this is a tar layer");
    sm_digest_of(f->layer, strlen(f->layer), f->layer_digest);
    snprintf(f->config, sizeof f->config, CONFIG_JSON, f->layer_digest);
    sm_digest_of(f->config, strlen(f->config), f->config_digest);
    snprintf(f->manifest, sizeof f->manifest,
             "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
             "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
             "\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer."
             "v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}", f->config_digest, strlen(f->config),
             f->layer_digest, strlen(f->layer));
    sm_digest_of(f->manifest, strlen(f->manifest), f->manifest_digest);
    const char *d[3] = {f->config_digest, f->layer_digest, f->manifest_digest};
    for (int i = 0; i < 3; i++)
        snprintf(f->blob_path[i], sizeof f->blob_path[i], "blobs/sha256/%s", d[i] + 7);
    *state = f;
    return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    fx *f = *state;
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static size_t stored_images(void)
{
    sm_image_info **list;
    size_t n;
    assert_int_equal(sm_image_list(&list, &n), 0);
    sm_image_list_free(list, n);
    return n;
}

static void import_fails(fx *f, const sm_import_options *o, const char *words)
{
    sm_image_ref **refs = NULL;
    size_t n = 0;
    assert_true(sm_image_import(f->tar, o, &refs, &n) < 0);
    if (!strstr(sm_last_error(), words))
        fail_msg("error '%s' does not say '%s'", sm_last_error(), words);
    assert_null(strchr(sm_last_error(), '\n'));
    assert_null(refs);
    assert_int_equal(stored_images(), 0);
}

/* docker save as skopeo writes it: the layer behind a symlink. */
static void docker_save_with_names(void **state)
{
    fx *f = *state;
    char manifest_json[512], layer_tar[128], config_json[128];
    snprintf(layer_tar, sizeof layer_tar, "%s.tar", f->layer_digest + 7);
    snprintf(config_json, sizeof config_json, "%s.json", f->config_digest + 7);
    snprintf(manifest_json, sizeof manifest_json,
             "[{\"Config\":\"%s\",\"RepoTags\":[\"example.com/team/app:1\",\"app:2\"],"
             "\"Layers\":[\"abc/layer.tar\"]}]", config_json);
    entry e[] = {
        {layer_tar, f->layer, NULL}, {config_json, f->config, NULL},
        {"abc/layer.tar", NULL, NULL}, {"abc/VERSION", "1.0", NULL},
        {"manifest.json", manifest_json, NULL}, {"repositories", "{}", NULL},
    };
    char link[160];
    snprintf(link, sizeof link, "../%s", layer_tar);
    e[2].link = link;
    write_tar(f->tar, e, 6, 1);   /* gzip'd, as docker save | gzip makes */
    sm_image_ref **refs;
    size_t n;
    if (sm_image_import(f->tar, NULL, &refs, &n))
        fail_msg("%s", sm_last_error());
    assert_int_equal(n, 2);
    assert_string_equal(refs[0]->name, "example.com/team/app:1");
    assert_string_equal(refs[1]->name, "docker.io/library/app:2");
    assert_string_equal(refs[0]->digest, refs[1]->digest);
    sm_image_ref_list_free(refs, n);
    sm_image_info *info;
    assert_int_equal(sm_image_inspect("app:2", &info), 0);
    assert_string_equal(info->config_digest, f->config_digest);
    assert_string_equal(info->layers[0].digest, f->layer_digest);
    assert_string_equal(info->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar");
    assert_string_equal(info->cmd[0], "sh");
    sm_image_info_free(info);
}

static void docker_save_layer_not_matching_config(void **state)
{
    fx *f = *state;
    char config[512], manifest_json[256];
    snprintf(config, sizeof config, CONFIG_JSON,
             "sha256:0000000000000000000000000000000000000000000000000000000000000000");
    snprintf(manifest_json, sizeof manifest_json,
             "[{\"Config\":\"c.json\",\"RepoTags\":[\"app:1\"],\"Layers\":[\"l/layer.tar\"]}]");
    entry e[] = {{"l/layer.tar", f->layer, NULL}, {"c.json", config, NULL},
                 {"manifest.json", manifest_json, NULL}};
    write_tar(f->tar, e, 3, 0);
    import_fails(f, NULL, "does not match its image config");
}

static void docker_save_missing_layer(void **state)
{
    fx *f = *state;
    entry e[] = {{"c.json", f->config, NULL},
                 {"manifest.json", "[{\"Config\":\"c.json\",\"Layers\":[\"gone/layer.tar\"]}]", NULL}};
    write_tar(f->tar, e, 2, 0);
    import_fails(f, NULL, "names a layer 'gone/layer.tar', which the archive does not hold");
}

static void write_oci_archive(fx *f, const char *index_json, const char *manifest_data)
{
    entry e[] = {
        {"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", NULL},
        {"index.json", index_json, NULL},
        {f->blob_path[0], f->config, NULL},
        {f->blob_path[1], f->layer, NULL},
        {f->blob_path[2], manifest_data, NULL},
    };
    write_tar(f->tar, e, 5, 0);
}

static const char *index_with(fx *f, const char *annotations)
{
    static char idx[1024];
    snprintf(idx, sizeof idx, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/"
             "vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu%s}]}",
             f->manifest_digest, strlen(f->manifest), annotations);
    return idx;
}

static void oci_archive_names(void **state)
{
    fx *f = *state;
    write_oci_archive(f, index_with(f, ",\"annotations\":{\"io.containerd.image.name\":"
                                       "\"docker.io/library/x:1\",\"org.opencontainers.image."
                                       "ref.name\":\"1\"}"), f->manifest);
    sm_image_ref **refs;
    size_t n;
    sm_import_options o = {.size = sizeof o, .name = "mine/x:local"};
    assert_int_equal(sm_image_import(f->tar, &o, &refs, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(refs[0]->name, "docker.io/library/x:1");
    assert_string_equal(refs[1]->name, "docker.io/mine/x:local");
    assert_string_equal(refs[1]->digest, f->manifest_digest);
    sm_image_ref_list_free(refs, n);
}

static void oci_archive_without_a_name(void **state)
{
    fx *f = *state;
    /* A bare tag names no repository. */
    write_oci_archive(f, index_with(f, ",\"annotations\":{\"org.opencontainers.image.ref.name\":"
                                       "\"latest\"}"), f->manifest);
    sm_image_ref **refs;
    size_t n;
    assert_int_equal(sm_image_import(f->tar, NULL, &refs, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(refs[0]->name, "");
    sm_image_ref_list_free(refs, n);
    sm_image_info *info;
    assert_int_equal(sm_image_inspect(f->manifest_digest, &info), 0);
    assert_string_equal(info->name, "");
    sm_image_info_free(info);
}

static void blob_not_matching_its_name(void **state)
{
    fx *f = *state;
    char tampered[1024];
    snprintf(tampered, sizeof tampered, "%s ", f->manifest);
    write_oci_archive(f, index_with(f, ""), tampered);
    import_fails(f, NULL, "does not match its digest");
}

static void blob_missing_from_the_archive(void **state)
{
    fx *f = *state;
    entry e[] = {{"oci-layout", "{}", NULL}, {"index.json", index_with(f, ""), NULL}};
    write_tar(f->tar, e, 2, 0);
    import_fails(f, NULL, "is missing from the archive");
}

static void index_that_is_not_json(void **state)
{
    fx *f = *state;
    write_oci_archive(f, "{\"schemaVersion\":2,", f->manifest);
    import_fails(f, NULL, "is not valid JSON");
}

static void not_an_image_archive(void **state)
{
    fx *f = *state;
    entry e[] = {{"etc/passwd", "root:x:0:0::/root:/bin/sh\n", NULL}};
    write_tar(f->tar, e, 1, 0);
    import_fails(f, NULL, "neither a docker save nor an OCI archive");
    FILE *fp = fopen(f->tar, "w");
    fputs("this is not a tar file at all, not even close, no headers here", fp);
    fclose(fp);
    import_fails(f, NULL, "image.tar");
    sm_import_options o = {.size = sizeof o, .name = "Bad Name"};
    import_fails(f, &o, "invalid image reference");
}

static void a_name_for_two_images_is_ambiguous(void **state)
{
    fx *f = *state;
    char idx[2048], other[1024], other_digest[SM_DIGEST_STR], other_path[128];
    snprintf(other, sizeof other, "%s\n", f->manifest);
    sm_digest_of(other, strlen(other), other_digest);
    snprintf(other_path, sizeof other_path, "blobs/sha256/%s", other_digest + 7);
    snprintf(idx, sizeof idx, "{\"schemaVersion\":2,\"manifests\":["
             "{\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"io.containerd.image.name\":\"a:1\"}},"
             "{\"digest\":\"%s\",\"size\":%zu,\"annotations\":{\"io.containerd.image.name\":\"b:1\"}}]}",
             f->manifest_digest, strlen(f->manifest), other_digest, strlen(other));
    entry e[] = {{"index.json", idx, NULL}, {f->blob_path[0], f->config, NULL},
                 {f->blob_path[1], f->layer, NULL}, {f->blob_path[2], f->manifest, NULL},
                 {other_path, other, NULL}};
    write_tar(f->tar, e, 5, 0);
    sm_import_options o = {.size = sizeof o, .name = "both:1"};
    import_fails(f, &o, "holds 2 images");
    sm_image_ref **refs;
    size_t n;
    assert_int_equal(sm_image_import(f->tar, NULL, &refs, &n), 0);
    assert_int_equal(n, 2);
    sm_image_ref_list_free(refs, n);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(docker_save_with_names),
        T(docker_save_layer_not_matching_config),
        T(docker_save_missing_layer),
        T(oci_archive_names),
        T(oci_archive_without_a_name),
        T(blob_not_matching_its_name),
        T(blob_missing_from_the_archive),
        T(index_that_is_not_json),
        T(not_an_image_archive),
        T(a_name_for_two_images_is_ambiguous),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
