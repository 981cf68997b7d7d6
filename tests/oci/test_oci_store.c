/* The blob store: verified atomic writes, the image list, lookup, gc. */
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <errno.h>
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

#include "oci/layers.h"
#include "oci/store.h"
#include "oci/store_index.h"
#include "supermachine.h"

typedef struct fx {
    char dir[64];
    sm_store store;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sm-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    setenv("SUPERMACHINE_DATA_DIR", f->dir, 1);
    assert_int_equal(sm_store_open(&f->store, NULL, SM_STORE_SHARED), 0);
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
    sm_store_close(&f->store);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Files in blobs/sha256 (complete or not). */
static int blob_files(fx *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/blobs/sha256", f->dir);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)); )
        n += e->d_name[0] != '.' || !strncmp(e->d_name, ".partial-", 9);
    closedir(d);
    return n;
}

static void stores_a_verified_blob_read_only(void **state)
{
    fx *f = *state;
    char digest[SM_DIGEST_STR], path[PATH_MAX];
    assert_int_equal(sm_store_put_blob(&f->store, "b", "hello", 5, NULL, digest), 0);
    assert_string_equal(digest, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    assert_true(sm_store_has_blob(&f->store, digest));
    sm_store_blob_path(&f->store, digest, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0444);
    char *data;
    size_t len;
    assert_int_equal(sm_store_read_blob(&f->store, digest, 100, &data, &len), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    free(data);
    assert_true(sm_store_read_blob(&f->store, digest, 4, &data, &len) < 0);
    assert_non_null(strstr(sm_last_error(), "more than the 4 allowed"));
}

static void refuses_content_that_does_not_match(void **state)
{
    fx *f = *state;
    const char *want = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert_true(sm_store_put_blob(&f->store, "layer x", "jello", 5, want, NULL) < 0);
    assert_string_equal(sm_last_error(), "layer x does not match its digest: expected "
                        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824, "
                        "got sha256:187c9bceeb919e1b3e6d20fa50ecabf7d9d50b5343e8f9a3d912abb13929102e");
    assert_int_equal(blob_files(f), 0);
}

static void refuses_truncated_and_oversized_blobs(void **state)
{
    fx *f = *state;
    sm_blob_writer w;
    assert_int_equal(sm_blob_writer_open(&w, &f->store, "layer y", NULL, 10), 0);
    assert_int_equal(sm_blob_writer_write(&w, "12345", 5), 0);
    assert_int_equal(blob_files(f), 1);   /* the partial file */
    assert_true(sm_blob_writer_commit(&w, NULL) < 0);
    assert_string_equal(sm_last_error(), "layer y is truncated: got 5 of the 10 bytes its "
                        "descriptor declares");
    assert_int_equal(blob_files(f), 0);
    assert_int_equal(sm_blob_writer_open(&w, &f->store, "layer z", NULL, 3), 0);
    assert_true(sm_blob_writer_write(&w, "12345", 5) < 0);
    assert_non_null(strstr(sm_last_error(), "larger than the 3 bytes"));
    sm_blob_writer_abort(&w);
    assert_int_equal(blob_files(f), 0);
}

static void restarts_a_writer(void **state)
{
    fx *f = *state;
    sm_blob_writer w;
    char digest[SM_DIGEST_STR];
    const char *want = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert_int_equal(sm_blob_writer_open(&w, &f->store, "b", want, 5), 0);
    assert_int_equal(sm_blob_writer_write(&w, "hel", 3), 0);
    assert_int_equal(sm_blob_writer_reset(&w), 0);
    assert_int_equal(sm_blob_writer_write(&w, "hello", 5), 0);
    assert_int_equal(sm_blob_writer_commit(&w, digest), 0);
    assert_string_equal(digest, want);
}

static void notices_a_corrupted_blob(void **state)
{
    fx *f = *state;
    char digest[SM_DIGEST_STR], path[PATH_MAX];
    assert_int_equal(sm_store_put_blob(&f->store, "b", "hello", 5, NULL, digest), 0);
    sm_store_blob_path(&f->store, digest, path, sizeof path);
    chmod(path, 0644);
    FILE *fp = fopen(path, "w");
    fputs("HELLO", fp);
    fclose(fp);
    char *data;
    size_t len;
    assert_true(sm_store_read_blob(&f->store, digest, 100, &data, &len) < 0);
    assert_non_null(strstr(sm_last_error(), "is corrupt"));
    assert_null(data);
}

typedef struct racer {
    const sm_store *store;
    int err;
} racer;

static void *put_same(void *arg)
{
    racer *r = arg;
    static char big[1 << 20];
    for (int i = 0; i < 20 && !r->err; i++)
        r->err = sm_store_put_blob(r->store, "b", big, sizeof big, NULL, NULL);
    return NULL;
}

static void concurrent_writers_of_one_blob(void **state)
{
    fx *f = *state;
    pthread_t t[4];
    racer r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (racer){.store = &f->store};
        pthread_create(&t[i], NULL, put_same, &r[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].err, 0);
    }
    assert_int_equal(blob_files(f), 1);
}

static void keeps_an_image_list(void **state)
{
    fx *f = *state;
    sm_index_entry e = {.name = "docker.io/library/b:1", .platform = "linux/amd64", .stored = 7};
    snprintf(e.manifest, sizeof e.manifest, "sha256:%064d", 1);
    assert_int_equal(sm_index_put(&f->store, &e), 0);
    snprintf(e.name, sizeof e.name, "docker.io/library/a:1");
    snprintf(e.index, sizeof e.index, "sha256:%064d", 2);
    assert_int_equal(sm_index_put(&f->store, &e), 0);
    sm_index_entry *list;
    size_t n;
    assert_int_equal(sm_index_load(&f->store, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, "docker.io/library/a:1");   /* sorted */
    assert_string_equal(list[0].index, e.index);
    assert_string_equal(list[1].index, "");
    assert_int_equal(list[1].stored, 7);
    free(list);
    assert_int_equal(sm_index_remove(&f->store, "docker.io/library/a:1"), 0);
    assert_true(sm_index_remove(&f->store, "docker.io/library/a:1") < 0);
    assert_int_equal(sm_index_load(&f->store, &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
}

static void damaged_image_list_is_a_clear_error(void **state)
{
    fx *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/images.json", f->dir);
    FILE *fp = fopen(path, "w");
    fputs("{\"images\": {", fp);
    fclose(fp);
    sm_index_entry *list;
    size_t n;
    assert_true(sm_index_load(&f->store, &list, &n) < 0);
    assert_non_null(strstr(sm_last_error(), "is damaged"));
}

static void default_root_follows_the_environment(void **state)
{
    (void)state;
    char root[PATH_MAX];
    setenv("SUPERMACHINE_DATA_DIR", "/x/data", 1);
    assert_int_equal(sm_store_default_root(root, sizeof root), 0);
    assert_string_equal(root, "/x/data");
    unsetenv("SUPERMACHINE_DATA_DIR");
    setenv("XDG_DATA_HOME", "/x/xdg", 1);
    assert_int_equal(sm_store_default_root(root, sizeof root), 0);
    assert_string_equal(root, "/x/xdg/supermachine");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/x/home", 1);
    assert_int_equal(sm_store_default_root(root, sizeof root), 0);
    assert_string_equal(root, "/x/home/.local/share/supermachine");
}

/* A stored image: config, one layer, manifest, and its name. */
static void add_image(fx *f, const char *name, const char *layer_text, char *manifest_digest)
{
    char config[SM_DIGEST_STR], layer[SM_DIGEST_STR], m[2048];
    const char *cfg = "{\"os\":\"linux\",\"architecture\":\"amd64\"}";
    assert_int_equal(sm_store_put_blob(&f->store, "c", cfg, strlen(cfg), NULL, config), 0);
    assert_int_equal(sm_store_put_blob(&f->store, "l", layer_text, strlen(layer_text), NULL, layer), 0);
    int n = snprintf(m, sizeof m, "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image."
                     "manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config"
                     ".v1+json\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
                     "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
                     config, strlen(cfg), layer, strlen(layer_text));
    assert_int_equal(sm_store_put_blob(&f->store, "m", m, (size_t)n, NULL, manifest_digest), 0);
    sm_index_entry e = {.platform = "linux/amd64"};
    snprintf(e.name, sizeof e.name, "%s", name);
    snprintf(e.manifest, sizeof e.manifest, "%s", manifest_digest);
    assert_int_equal(sm_index_put(&f->store, &e), 0);
}

static void finds_images_by_name_digest_or_id(void **state)
{
    fx *f = *state;
    char a[SM_DIGEST_STR], b[SM_DIGEST_STR];
    add_image(f, "docker.io/library/a:latest", "layer a", a);
    add_image(f, "docker.io/library/b:1", "layer b", b);
    add_image(f, "docker.io/library/b:also", "layer b", b);
    sm_image_info *info;
    assert_int_equal(sm_image_inspect("a", &info), 0);
    assert_string_equal(info->digest, a);
    assert_int_equal(info->layer_count, 1);
    assert_string_equal(info->os, "linux");
    sm_image_info_free(info);
    assert_int_equal(sm_image_inspect(b, &info), 0);
    sm_image_info_free(info);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.10s", b + 7);
    assert_int_equal(sm_image_inspect(prefix, &info), 0);
    assert_string_equal(info->digest, b);
    /* Both images have the same config: its ID is ambiguous. */
    char id[16];
    snprintf(id, sizeof id, "%.12s", info->config_digest + 7);
    sm_image_info_free(info);
    assert_true(sm_image_inspect(id, &info) < 0);
    assert_non_null(strstr(sm_last_error(), "more than one image"));
    assert_true(sm_image_inspect("nothing", &info) < 0);
    assert_string_equal(sm_last_error(), "no image 'nothing' in the store; pull it with "
                        "'supermachine pull nothing'");
    /* A digest of an image with several names removes none of them (as
     * docker refuses), unless forced: then every name goes. */
    sm_image_info **list;
    size_t n;
    assert_int_equal(sm_image_list(&list, &n), 0);
    size_t before = n;
    sm_image_list_free(list, n);
    assert_int_equal(sm_image_remove(b), -EBUSY);
    assert_non_null(strstr(sm_last_error(), "remove them by name, or all of them with -f"));
    assert_int_equal(sm_image_list(&list, &n), 0);
    assert_int_equal(n, before);
    sm_image_list_free(list, n);
    assert_int_equal(sm_image_remove_flags(b, SM_IMAGE_REMOVE_FORCE), 0);
    assert_int_equal(sm_image_list(&list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->name, "docker.io/library/a:latest");
    sm_image_list_free(list, n);
}

static void lists_layer_files_for_the_rootfs(void **state)
{
    fx *f = *state;
    char a[SM_DIGEST_STR];
    add_image(f, "docker.io/library/a:latest", "layer a", a);
    sm_oci_layers l;
    assert_int_equal(sm_oci_layers_open("a", &l), 0);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.info->digest, a);
    FILE *fp = fopen(l.paths[0], "r");
    char buf[16] = "";
    assert_non_null(fgets(buf, sizeof buf, fp));
    fclose(fp);
    assert_string_equal(buf, "layer a");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", l.paths[0]);
    sm_oci_layers_close(&l);
    chmod(path, 0644);
    unlink(path);
    assert_true(sm_oci_layers_open("a", &l) < 0);
    assert_non_null(strstr(sm_last_error(), "missing from the store"));
}

static void gc_deletes_only_what_no_image_uses(void **state)
{
    fx *f = *state;
    char a[SM_DIGEST_STR], b[SM_DIGEST_STR], stray[SM_DIGEST_STR];
    add_image(f, "docker.io/library/a:latest", "layer a", a);
    add_image(f, "docker.io/library/b:1", "layer b", b);
    assert_int_equal(sm_store_put_blob(&f->store, "s", "stray", 5, NULL, stray), 0);
    char path[128];
    snprintf(path, sizeof path, "%s/blobs/sha256/.partial-abc", f->dir);
    fclose(fopen(path, "w"));
    assert_int_equal(blob_files(f), 7);   /* one config shared by both */
    sm_store_close(&f->store);            /* gc waits for readers */
    sm_gc_result r = {.size = sizeof r};
    assert_int_equal(sm_image_gc(&r), 0);
    assert_int_equal(r.blobs_removed, 2);
    assert_int_equal(blob_files(f), 5);
    assert_int_equal(sm_image_remove("b:1"), 0);
    assert_int_equal(sm_image_gc(&r), 0);
    assert_int_equal(r.blobs_removed, 2);   /* b's manifest and layer */
    sm_image_info *info;
    assert_int_equal(sm_image_inspect("a", &info), 0);
    sm_image_info_free(info);
    assert_int_equal(sm_store_open(&f->store, NULL, SM_STORE_SHARED), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(stores_a_verified_blob_read_only),
        T(refuses_content_that_does_not_match),
        T(refuses_truncated_and_oversized_blobs),
        T(restarts_a_writer),
        T(notices_a_corrupted_blob),
        T(concurrent_writers_of_one_blob),
        T(keeps_an_image_list),
        T(damaged_image_list_is_a_clear_error),
        T(finds_images_by_name_digest_or_id),
        T(lists_layer_files_for_the_rootfs),
        T(gc_deletes_only_what_no_image_uses),
        cmocka_unit_test(default_root_follows_the_environment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
