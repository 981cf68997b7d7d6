/* What sm_image_inspect, sm_image_list and sm_image_remove do. */
#include "oci/images.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/image_info.h"
#include "util/error.h"

int sm_oci_inspect(const char *reference, sm_oci_info **out)
{
    sm_store s;
    sm_index_entry *e;
    size_t n;
    *out = NULL;
    int err = sm_store_open(&s, NULL, SM_STORE_SHARED);
    if (err)
        return err;
    err = sm_image_lookup(&s, reference, &e, &n);
    if (!err) {
        err = sm_image_info_load(&s, &e[0], out);
        free(e);
    }
    sm_store_close(&s);
    return err;
}

/* A damaged image still gets listed, by name and digest, so that the user
 * sees it and can remove it. */
static int load_or_stub(const sm_store *s, const sm_index_entry *e, sm_oci_info **out)
{
    if (sm_image_info_load(s, e, out) == 0)
        return 0;
    sm_oci_info *info = calloc(1, sizeof *info);
    if (!info)
        return sm_fail(ENOMEM, "out of memory");
    snprintf(info->name, sizeof info->name, "%s", strcmp(e->name, e->manifest) ? e->name : "");
    snprintf(info->digest, sizeof info->digest, "%s", e->manifest);
    info->stored = e->stored;
    *out = info;
    return 0;
}

static void list_free(sm_oci_info **list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        sm_oci_info_free(list[i]);
    free(list);
}

static int list(const sm_store *s, sm_oci_info ***out, size_t *count)
{
    sm_index_entry *e;
    size_t n;
    int err = sm_index_load(s, &e, &n);
    if (err)
        return err;
    sm_oci_info **v = calloc(n + 1, sizeof *v);
    if (!v)
        err = sm_fail(ENOMEM, "out of memory");
    for (size_t i = 0; !err && i < n; i++)
        err = load_or_stub(s, &e[i], &v[i]);
    free(e);
    if (err) {
        list_free(v, n);
        return err;
    }
    *out = v;
    *count = n;
    return 0;
}

int sm_oci_list(sm_oci_info ***out, size_t *count)
{
    sm_store s;
    *out = NULL;
    *count = 0;
    int err = sm_store_open(&s, NULL, SM_STORE_SHARED);
    if (err)
        return err;
    err = list(&s, out, count);
    sm_store_close(&s);
    return err;
}

/* An ID naming several images removes none without force, as docker
 * refuses: the user may have meant one name. */
static int refuse_several(const char *reference, const sm_index_entry *e, size_t n)
{
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used + 4 < sizeof names; i++) {
        int w = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", e[i].name);
        used += w > 0 ? (size_t)w : 0;
    }
    return sm_fail(EBUSY, "%s is the image of %zu names (%s): remove them by name, or all "
                   "of them with -f", reference, n, names);
}

int sm_oci_remove(const char *reference, bool force)
{
    sm_store s;
    sm_index_entry *e;
    size_t n;
    int err = sm_store_open(&s, NULL, SM_STORE_SHARED);
    if (err)
        return err;
    err = sm_image_lookup(&s, reference, &e, &n);
    if (!err && n > 1 && !force) {
        err = refuse_several(reference, e, n);
        free(e);
    } else if (!err) {
        for (size_t i = 0; !err && i < n; i++)
            err = sm_index_remove(&s, e[i].name);
        free(e);
    }
    sm_store_close(&s);
    return err;
}
