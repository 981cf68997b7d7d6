#include "oci/store_index.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file.h"

#define INDEX_MAX (64u << 20)

static void index_path(const sm_store *s, char *out, size_t len)
{
    snprintf(out, len, "%s/images.json", s->root);
}

/* The "images" object of the index file, or a fresh one if there is none. */
static int load_json(const sm_store *s, json_t **out)
{
    char path[PATH_MAX];
    index_path(s, path, sizeof path);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root && access(path, F_OK) < 0 && errno == ENOENT)
        root = json_pack("{s:i,s:{}}", "version", 1, "images");
    else if (!root)
        return sm_fail(EBADMSG, "the image list '%s' is damaged (%s, line %d); move it away to "
                       "start a new one", path, jerr.text, jerr.line);
    if (!json_is_object(json_object_get(root, "images"))) {
        json_decref(root);
        return sm_fail(EBADMSG, "the image list '%s' has no \"images\" object; move it away "
                       "to start a new one", path);
    }
    *out = root;
    return 0;
}

static void copy_str(char *dst, size_t len, json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    snprintf(dst, len, "%s", v ? v : "");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const sm_index_entry *)a)->name, ((const sm_index_entry *)b)->name);
}

int sm_index_load(const sm_store *s, sm_index_entry **out, size_t *count)
{
    json_t *root;
    int err = load_json(s, &root);
    if (err)
        return err;
    json_t *images = json_object_get(root, "images");
    sm_index_entry *e = calloc(json_object_size(images) + 1, sizeof *e);
    if (!e) {
        json_decref(root);
        return sm_fail(ENOMEM, "out of memory reading the image list");
    }
    size_t n = 0;
    const char *name;
    json_t *v;
    json_object_foreach(images, name, v) {
        copy_str(e[n].manifest, sizeof e[n].manifest, v, "manifest");
        if (!sm_digest_valid(e[n].manifest) || !*name || strlen(name) >= sizeof e[n].name)
            continue;   /* a hand-edited entry we cannot use (nothing could name it) */
        snprintf(e[n].name, sizeof e[n].name, "%s", name);
        copy_str(e[n].index, sizeof e[n].index, v, "index");
        copy_str(e[n].platform, sizeof e[n].platform, v, "platform");
        e[n].stored = json_integer_value(json_object_get(v, "stored"));
        n++;
    }
    json_decref(root);
    qsort(e, n, sizeof *e, by_name);
    *out = e;
    *count = n;
    return 0;
}

static int save_json(const sm_store *s, json_t *root)
{
    char path[PATH_MAX];
    index_path(s, path, sizeof path);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text)
        return sm_fail(ENOMEM, "out of memory writing the image list");
    int err = sm_file_write_atomic(path, text, strlen(text), 0600);
    free(text);
    return err;
}

typedef int (*edit_fn)(json_t *images, const void *arg);

/* Read, edit and replace the index while holding its lock. */
static int update(const sm_store *s, edit_fn edit, const void *arg)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/images.lock", s->root);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return sm_fail(errno, "cannot open '%s': %s", path, strerror(errno));
    int err = 0;
    while (flock(fd, LOCK_EX) < 0 && !err)
        if (errno != EINTR)
            err = sm_fail(errno, "cannot lock '%s': %s", path, strerror(errno));
    json_t *root = NULL;
    if (!err)
        err = load_json(s, &root);
    if (!err)
        err = edit(json_object_get(root, "images"), arg);
    if (!err)
        err = save_json(s, root);
    json_decref(root);
    close(fd);
    return err;
}

static int put_edit(json_t *images, const void *arg)
{
    const sm_index_entry *e = arg;
    json_t *v = json_pack("{s:s,s:s,s:I}", "manifest", e->manifest, "platform", e->platform,
                          "stored", (json_int_t)e->stored);
    if (v && e->index[0])
        json_object_set_new(v, "index", json_string(e->index));
    if (!v || json_object_set_new(images, e->name, v) < 0)
        return sm_fail(ENOMEM, "out of memory updating the image list");
    return 0;
}

int sm_index_put(const sm_store *s, const sm_index_entry *e)
{
    return update(s, put_edit, e);
}

static int remove_edit(json_t *images, const void *arg)
{
    if (json_object_del(images, arg) < 0)
        return sm_fail(ENOENT, "no image named '%s'", (const char *)arg);
    return 0;
}

int sm_index_remove(const sm_store *s, const char *name)
{
    return update(s, remove_edit, name);
}
