/* Seeds for the image harnesses: layers, archives and layouts as docker
 * and OCI tools write them, manifests, indexes and configs. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/digest.h"
#include "oci/media.h"
#include "seeds.h"

typedef struct tar {
    struct archive *a;
    uint8_t buf[1 << 16];
    size_t used;
} tar;

static void tar_open(tar *t, int filter)
{
    t->a = archive_write_new();
    archive_write_set_format_pax_restricted(t->a);
    if (filter)
        archive_write_add_filter(t->a, filter);
    archive_write_set_bytes_in_last_block(t->a, 1);
    if (archive_write_open_memory(t->a, t->buf, sizeof t->buf, &t->used) != ARCHIVE_OK)
        abort();
}

static void tar_close(tar *t, const char *harness, const char *name, uint8_t prefix, bool with)
{
    archive_write_close(t->a);
    archive_write_free(t->a);
    if (!with) {
        seed(harness, name, t->buf, t->used);
        return;
    }
    uint8_t *in = malloc(t->used + 1);
    in[0] = prefix;
    memcpy(in + 1, t->buf, t->used);
    seed(harness, name, in, t->used + 1);
    free(in);
}

static void put(tar *t, const char *name, mode_t mode, const void *data, size_t len,
                const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mode(e, mode);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (S_ISLNK(mode))
        archive_entry_set_symlink(e, link);
    else if (link)
        archive_entry_set_hardlink(e, link);
    archive_entry_set_size(e, (la_int64_t)len);
    if (!strcmp(name, "bin/ping"))
        archive_entry_xattr_add_entry(e, "security.capability", "\1\0\0\2\0\x20\0\0", 8);
    if (archive_write_header(t->a, e) != ARCHIVE_OK ||
        (len && archive_write_data(t->a, data, len) != (la_ssize_t)len))
        abort();
    archive_entry_free(e);
}

static void put_str(tar *t, const char *name, const char *text)
{
    put(t, name, AE_IFREG | 0644, text, strlen(text), NULL);
}

/* Layer 2 over fuzz_layer's layer 1: replace, hide, link, go through
 * its symlinked lib/. */
static void layer_entries(tar *t)
{
    put(t, "etc/", AE_IFDIR | 0755, NULL, 0, NULL);
    put_str(t, "etc/passwd", "root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home:/bin/sh\n");
    put(t, "etc/.wh.shadow", AE_IFREG | 0644, NULL, 0, NULL);
    put(t, "usr/lib/.wh..wh..opq", AE_IFREG | 0644, NULL, 0, NULL);
    put_str(t, "lib/libz.so", "\177ELF");
    put(t, "bin/ping", AE_IFREG | 04755, "#!", 2, NULL);
    put(t, "bin/sh2", AE_IFREG | 0755, NULL, 0, "bin/sh");
    put(t, "bin/.wh.ash", AE_IFREG | 0644, NULL, 0, NULL);
    put(t, "usr/bin/env", AE_IFLNK | 0777, NULL, 0, "/bin/sh");
    put(t, "dev/tty", AE_IFCHR | 0666, NULL, 0, NULL);
    put(t, "run/fifo", AE_IFIFO | 0644, NULL, 0, NULL);
    put(t, "/abs/../x", AE_IFREG | 0644, "x", 1, NULL);
}

static void layers(void)
{
    const struct { const char *name; int filter; } kinds[] = {
        {"plain", 0}, {"gzip", ARCHIVE_FILTER_GZIP}, {"zstd", ARCHIVE_FILTER_ZSTD},
        {"xz", ARCHIVE_FILTER_XZ}, {"bzip2", ARCHIVE_FILTER_BZIP2},
    };
    static tar t;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        tar_open(&t, kinds[i].filter);
        layer_entries(&t);
        tar_close(&t, "layer", kinds[i].name, 0, false);
    }
}

/* One image's blobs: a one-file layer, its config and manifest. */
typedef struct image {
    char layer[1024], config[1024], manifest[1024], index[1024];
    size_t layer_len;
    char layer_d[SM_DIGEST_STR], config_d[SM_DIGEST_STR], manifest_d[SM_DIGEST_STR];
} image;

static void make_image(image *im)
{
    static tar t;
    tar_open(&t, 0);
    put_str(&t, "hello", "world\n");
    archive_write_close(t.a);
    archive_write_free(t.a);
    memcpy(im->layer, t.buf, t.used);
    im->layer_len = t.used;
    sm_digest_of(im->layer, im->layer_len, im->layer_d);
    snprintf(im->config, sizeof im->config,
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],"
             "\"Cmd\":[\"/bin/sh\"],\"WorkingDir\":\"/\",\"Labels\":{\"a\":\"b\"}},"
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]},"
             "\"history\":[{\"created_by\":\"ADD hello\"}]}", im->layer_d);
    sm_digest_of(im->config, strlen(im->config), im->config_d);
    snprintf(im->manifest, sizeof im->manifest,
             "{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_MANIFEST "\","
             "\"config\":{\"mediaType\":\"" SM_MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},"
             "\"layers\":[{\"mediaType\":\"" SM_MT_OCI_LAYER "\",\"digest\":\"%s\",\"size\":%zu}]}",
             im->config_d, strlen(im->config), im->layer_d, im->layer_len);
    sm_digest_of(im->manifest, strlen(im->manifest), im->manifest_d);
    snprintf(im->index, sizeof im->index,
             "{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_OCI_INDEX "\",\"manifests\":["
             "{\"mediaType\":\"" SM_MT_OCI_MANIFEST "\",\"digest\":\"%s\",\"size\":%zu,"
             "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"},"
             "\"annotations\":{\"org.opencontainers.image.ref.name\":\"fuzz/oci:1\"}}]}",
             im->manifest_d, strlen(im->manifest));
}

static void put_blob(tar *t, const char *digest, const void *data, size_t len)
{
    char name[128];
    snprintf(name, sizeof name, "blobs/sha256/%s", sm_digest_hex(digest));
    put(t, name, AE_IFREG | 0644, data, len, NULL);
}

static void imports(void)
{
    static image im;
    static tar t;
    make_image(&im);
    /* oci-archive, and the same laid out as a directory (bit 0). */
    for (uint8_t how = 0; how < 2; how++) {
        tar_open(&t, how ? 0 : ARCHIVE_FILTER_GZIP);
        put_str(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        put_str(&t, "index.json", im.index);
        put_blob(&t, im.manifest_d, im.manifest, strlen(im.manifest));
        put_blob(&t, im.config_d, im.config, strlen(im.config));
        put_blob(&t, im.layer_d, im.layer, im.layer_len);
        tar_close(&t, "import", how ? "oci_layout" : "oci_archive", how, true);
    }
    /* docker save, the layout before Docker 25: a manifest.json and a
     * symlinked layer. */
    char manifest_json[1024];
    snprintf(manifest_json, sizeof manifest_json,
             "[{\"Config\":\"%s.json\",\"RepoTags\":[\"fuzz/docker:latest\"],"
             "\"Layers\":[\"abc/layer.tar\"]}]", sm_digest_hex(im.config_d));
    char config_name[128];
    snprintf(config_name, sizeof config_name, "%s.json", sm_digest_hex(im.config_d));
    tar_open(&t, 0);
    put_str(&t, "manifest.json", manifest_json);
    put_str(&t, "repositories", "{}");
    put_str(&t, config_name, im.config);
    put(&t, "abc/layer.tar", AE_IFREG | 0644, im.layer, im.layer_len, NULL);
    put(&t, "abc/VERSION", AE_IFREG | 0644, "1.0", 3, NULL);
    put(&t, "def/layer.tar", AE_IFLNK | 0777, NULL, 0, "../abc/layer.tar");
    tar_close(&t, "import", "docker_save", 2, true);
}

/* fuzz_manifest's input: the Content-Type's index, then the document. */
static void doc(const char *name, uint8_t type, const char *text)
{
    size_t n = strlen(text);
    uint8_t *in = malloc(n + 1);
    in[0] = type;
    memcpy(in + 1, text, n);
    seed("manifest", name, in, n + 1);
    free(in);
}

static void manifests(void)
{
    static image im;
    char list[2048];
    make_image(&im);
    doc("oci_manifest", 0, im.manifest);
    doc("oci_index", 0, im.index);
    doc("config", 5, im.config);
    snprintf(list, sizeof list, "{\"schemaVersion\":2,\"mediaType\":\"" SM_MT_DOCKER_LIST "\","
             "\"manifests\":[{\"mediaType\":\"" SM_MT_DOCKER_MANIFEST "\",\"digest\":\"%s\","
             "\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
             "\"variant\":\"v7\"}},{\"mediaType\":\"" SM_MT_DOCKER_MANIFEST "\","
             "\"digest\":\"%s\",\"size\":2,\"platform\":{\"os\":\"linux\","
             "\"architecture\":\"arm64\"}}]}", im.manifest_d, im.config_d);
    doc("docker_list", 4, list);
    doc("platform", 1, "linux/arm64/v8");
}

void seeds_images(void)
{
    layers();
    imports();
    manifests();
}
