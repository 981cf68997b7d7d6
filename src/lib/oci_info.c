#include "lib/oci_info.h"

#include <stdlib.h>
#include <string.h>

#include "lib/abi.h"
#include "oci/image_info.h"
#include "util/error.h"

/* A fixed-size field of the public struct and its oci twin: the sizes
 * agree, so the copy loses nothing. */
#define COPY_FIELD(to, from, f)                                                     \
    do {                                                                            \
        _Static_assert(sizeof (to)->f == sizeof (from)->f, #f " differs in size"); \
        memcpy((to)->f, (from)->f, sizeof (to)->f);                                 \
    } while (0)

/* The public info over oci's: its strings and string lists are oci's (freed
 * with it); only the arrays of public element types are the box's own. */
typedef struct info_box {
    sm_image_info pub;     /* first: a pointer to it is one to the box */
    sm_oci_info *oci;
} info_box;

/* An array of n + 1 zeroed elements where oci has one, else NULL. */
static void *array_for(const void *oci_array, size_t n, size_t size, int *failed)
{
    void *a = oci_array ? calloc(n + 1, size) : NULL;
    *failed |= oci_array && !a;
    return a;
}

static void fill_lists(sm_image_info *p, const sm_oci_info *in)
{
    for (size_t i = 0; i < in->layer_count; i++) {
        COPY_FIELD(&p->layers[i], &in->layers[i], digest);
        COPY_FIELD(&p->layers[i], &in->layers[i], media_type);
        p->layers[i].size = in->layers[i].size;
    }
    for (size_t i = 0; i < in->label_count; i++)
        p->labels[i] = (sm_image_label){.key = in->labels[i].key, .value = in->labels[i].value};
    for (size_t i = 0; i < in->history_count; i++) {
        const sm_oci_info_history *h = &in->history[i];
        p->history[i] = (sm_image_history){.created = h->created, .created_by = h->created_by,
                                           .comment = h->comment, .empty_layer = h->empty_layer,
                                           .size = h->size};
    }
}

static void fill(sm_image_info *p, const sm_oci_info *in)
{
    p->size = sizeof *p;
    COPY_FIELD(p, in, name);
    COPY_FIELD(p, in, digest);
    COPY_FIELD(p, in, index_digest);
    COPY_FIELD(p, in, config_digest);
    COPY_FIELD(p, in, media_type);
    COPY_FIELD(p, in, os);
    COPY_FIELD(p, in, architecture);
    COPY_FIELD(p, in, variant);
    COPY_FIELD(p, in, created);
    p->stored = in->stored;
    p->bytes = in->size;
    p->layer_count = in->layer_count;
    p->label_count = in->label_count;
    p->history_count = in->history_count;
    p->entrypoint = in->entrypoint;
    p->cmd = in->cmd;
    p->env = in->env;
    p->working_dir = in->working_dir;
    p->user = in->user;
    p->exposed_ports = in->exposed_ports;
    p->stop_signal = in->stop_signal;
    fill_lists(p, in);
}

int sm_image_info_from_oci(sm_oci_info *in, sm_image_info **out)
{
    info_box *b = calloc(1, sizeof *b);
    int failed = !b;
    if (b) {
        b->oci = in;
        b->pub.layers = array_for(in->layers, in->layer_count, sizeof *b->pub.layers, &failed);
        b->pub.labels = array_for(in->labels, in->label_count, sizeof *b->pub.labels, &failed);
        b->pub.history = array_for(in->history, in->history_count, sizeof *b->pub.history,
                                   &failed);
    }
    if (failed) {
        if (b)
            sm_image_info_free(&b->pub);
        else
            sm_oci_info_free(in);
        return sm_fail(ENOMEM, "out of memory");
    }
    fill(&b->pub, in);
    *out = &b->pub;
    return 0;
}

void sm_image_ref_from_oci(const sm_oci_image_ref *in, sm_image_ref *out)
{
    sm_image_ref r = {.size = sizeof r};
    COPY_FIELD(&r, in, name);
    COPY_FIELD(&r, in, digest);
    SM_ABI_OUT(out, &r, sm_image_ref);
}

SM_API void sm_image_info_free(sm_image_info *info)
{
    if (!info)
        return;
    info_box *b = (info_box *)info;
    free(info->layers);
    free(info->labels);
    free(info->history);
    sm_oci_info_free(b->oci);
    free(b);
}

SM_API void sm_image_list_free(sm_image_info **list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        sm_image_info_free(list[i]);
    free(list);
}
