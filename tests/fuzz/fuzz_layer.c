/*
 * libFuzzer harness for layer application: the input is a layer blob (a
 * tar, or one compressed with gzip, zstd, xz or bzip2), applied as layer
 * 2 over a fixed layer 1 that gives it directories, files, a symlinked
 * directory and hard links to replace, hide (whiteouts) and link to. The
 * merged tree is then planned as an ext4 image. Small bounds (1 MiB a
 * file, 4 MiB in all) keep the image small and are fuzzed too. Then the
 * tree is walked: every node is its parent's child and the count of
 * nodes is right; an inode is shared only by hard links.
 */
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rootfs/ext4.h"
#include "rootfs/layer_apply.h"
#include "rootfs/tree.h"

static int base_fd = -1, input_fd = -1, image_fd = -1;
static char base_path[64], input_path[64], image_path[64];

static void entry(struct archive *a, const char *name, mode_t mode, const char *data,
                  const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_mode(e, mode);
    archive_entry_set_uid(e, 1000);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (S_ISLNK(mode))
        archive_entry_set_symlink(e, link);
    else if (link)
        archive_entry_set_hardlink(e, link);
    archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (data && archive_write_data(a, data, strlen(data)) != (la_ssize_t)strlen(data)))
        abort();
    archive_entry_free(e);
}

static int memfd(const char *name, char *path, size_t len)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        abort();
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

/* Layer 1: what layer 2 finds below it. */
static void make_base(void)
{
    base_fd = memfd("fuzz-layer-base", base_path, sizeof base_path);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (archive_write_open_fd(a, base_fd) != ARCHIVE_OK)
        abort();
    entry(a, "etc/", AE_IFDIR | 0755, NULL, NULL);
    entry(a, "etc/passwd", AE_IFREG | 0644, "root:x:0:0::/root:/bin/sh\n", NULL);
    entry(a, "usr/lib/", AE_IFDIR | 0755, NULL, NULL);
    entry(a, "usr/lib/libc.so", AE_IFREG | 0755, "\177ELF", NULL);
    entry(a, "lib", AE_IFLNK | 0777, NULL, "usr/lib");
    entry(a, "bin/sh", AE_IFREG | 0755, "#!", NULL);
    entry(a, "bin/ash", AE_IFREG | 0755, NULL, "bin/sh");
    entry(a, "dev/null", AE_IFCHR | 0666, NULL, NULL);
    entry(a, "tmp/", AE_IFDIR | 01777, NULL, NULL);
    archive_write_close(a);
    archive_write_free(a);
}

static void setup(void)
{
    make_base();
    input_fd = memfd("fuzz-layer-input", input_path, sizeof input_path);
    image_fd = memfd("fuzz-layer-image", image_path, sizeof image_path);
}

/* Walks dir's subtree; returns the nodes in it. */
static uint64_t check(const sm_node *dir)
{
    uint64_t n = 1;
    if (!dir->inode || !dir->inode->refs || (sm_node_is_dir(dir) && dir->inode->refs != 1))
        abort();
    if (S_ISLNK(dir->inode->mode) && (!dir->inode->target || !*dir->inode->target))
        abort();
    if (!sm_node_is_dir(dir))
        return n;
    uint32_t kids = 0;
    for (uint32_t b = 0; b < dir->n_buckets; b++)
        for (const sm_node *c = dir->buckets[b]; c; c = c->hnext, kids++) {
            if (c->parent != dir || sm_node_lookup(dir, c->name, strlen(c->name)) != c ||
                !*c->name || strchr(c->name, '/') || !strcmp(c->name, ".") ||
                !strcmp(c->name, ".."))
                abort();
            n += check(c);
        }
    if (kids != dir->n_children)
        abort();
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (base_fd < 0)
        setup();
    if (ftruncate(input_fd, 0) < 0 || pwrite(input_fd, data, size, 0) != (ssize_t)size ||
        ftruncate(image_fd, 0) < 0)
        abort();
    sm_tree t;
    sm_data_region image;
    sm_layer_budget budget = {.max_file = 1 << 20, .max_total = 4 << 20};
    if (sm_data_region_init(&image, image_fd, image_path) != 0 || sm_tree_init(&t) != 0 ||
        sm_layer_apply(&t, &image, base_path, 1, &budget) != 0)
        abort();
    sm_layer_apply(&t, &image, input_path, 2, &budget);
    if (check(t.root) != t.n_nodes)
        abort();
    sm_ext4_plan plan;
    if (sm_ext4_plan_make(&t, 11, &plan) == 0)
        sm_ext4_plan_free(&plan);
    sm_tree_free(&t);
    sm_data_region_free(&image);
    return 0;
}
