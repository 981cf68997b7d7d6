/*
 * libFuzzer harness for the store's image list: the input is images.json
 * as a user's editor or a crash may have left it. A list that loads gets
 * an image added and removed again through the store's own writer, and
 * reads back as it was, every name it had still there, sorted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fs.h"
#include "oci/store_index.h"

static const char *root;

static const sm_index_entry added = {
    .name = "docker.io/fuzz/added:1",
    .manifest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    .platform = "linux/amd64",
    .stored = 1700000000,
};

static void check_sorted(const sm_index_entry *e, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(e[i - 1].name, e[i].name) >= 0)
            abort();
    for (size_t i = 0; i < n; i++)
        if (!sm_digest_valid(e[i].manifest) || !e[i].name[0])
            abort();
}

static bool has(const sm_index_entry *e, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(e[i].name, name))
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!root)
        root = fuzz_scratch("images-json");
    fuzz_put(root, "images.json", data, size);
    sm_store s = {.lock_fd = -1};
    snprintf(s.root, sizeof s.root, "%s", root);
    sm_index_entry *before, *after;
    size_t nb, na;
    if (sm_index_load(&s, &before, &nb) != 0)
        return 0;
    check_sorted(before, nb);
    if (sm_index_put(&s, &added) != 0 || sm_index_load(&s, &after, &na) != 0)
        abort();
    check_sorted(after, na);
    for (size_t i = 0; i < nb; i++)
        if (!has(after, na, before[i].name))
            abort();
    if (!has(after, na, added.name))
        abort();
    free(after);
    bool was_there = has(before, nb, added.name);
    if (!was_there && (sm_index_remove(&s, added.name) != 0 ||
                       sm_index_load(&s, &after, &na) != 0 || na != nb))
        abort();
    if (!was_there) {
        for (size_t i = 0; i < nb; i++)
            if (strcmp(after[i].name, before[i].name))
                abort();
        free(after);
    }
    free(before);
    return 0;
}
