#include "rootfs/whiteout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rootfs/delta.h"
#include "util/error.h"
#include "util/log.h"

/* Removes what layers below `layer` put at or under `n`, keeping what
 * `layer` itself added: a node the layer created or entered carries its
 * number. */
static int prune_lower(sm_tree *t, sm_node *n, unsigned layer)
{
    if (n->layer < layer) {
        sm_node_remove(t, n);
        return 0;
    }
    if (!sm_node_is_dir(n) || n->n_children == 0)
        return 0;
    sm_node **kids;
    uint32_t count = n->n_children;
    int err = sm_node_sorted_children(n, &kids);
    for (uint32_t i = 0; !err && i < count; i++)
        err = prune_lower(t, kids[i], layer);
    free(kids);
    return err;
}

static int opaque(sm_tree *t, sm_node *dir, unsigned layer)
{
    if (dir->n_children == 0)
        return 0;
    sm_node **kids;
    uint32_t count = dir->n_children;
    int err = sm_node_sorted_children(dir, &kids);
    for (uint32_t i = 0; !err && i < count; i++)
        err = prune_lower(t, kids[i], layer);
    free(kids);
    return err;
}

int sm_whiteout_apply(sm_tree *t, sm_node *dir, const char *base, unsigned layer)
{
    if (strcmp(base, SM_WHITEOUT_OPAQUE) == 0) {
        int err = opaque(t, dir, layer);
        return err || !t->delta ? err : sm_delta_hide(t, dir, NULL);
    }
    const char *name = base + strlen(SM_WHITEOUT_PREFIX);
    if (strncmp(name, SM_WHITEOUT_PREFIX, strlen(SM_WHITEOUT_PREFIX)) == 0) {
        /* AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): docker skips it too. */
        sm_debug("rootfs: skipping AUFS metadata entry '%s'", base);
        return 0;
    }
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return sm_fail(EINVAL, "whiteout entry '%s' names no file", base);
    sm_node *victim = sm_node_lookup(dir, name, strlen(name));
    int err = victim ? prune_lower(t, victim, layer) : 0;
    return err || !t->delta ? err : sm_delta_hide(t, dir, name);
}
