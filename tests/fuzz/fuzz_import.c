/*
 * libFuzzer harness for image import: the first byte's bit 0 says whether
 * the rest is imported as an archive (docker save or oci-archive, a tar,
 * compressed or not) or unpacked first into an OCI layout directory (its
 * regular files only, under names that stay inside it) and imported from
 * there; bit 1 adds a name, bit 2 asks for linux/arm64. The store is
 * emptied before each input, so every run starts from nothing. After an
 * import that succeeds, the image list it wrote must load and every
 * listed name must be a reference that parses again.
 */
#include <stdint.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_fs.h"
#include "oci/import.h"
#include "oci/ref.h"
#include "oci/store_index.h"

static const char *store_dir, *layout_dir;
static int archive_fd = -1;
static char archive_path[64];

static void setup(void)
{
    store_dir = fuzz_scratch("import-store");
    layout_dir = fuzz_scratch("import-layout");
    setenv("SUPERMACHINE_DATA_DIR", store_dir, 1);
    archive_fd = memfd_create("fuzz-import", MFD_CLOEXEC);
    if (archive_fd < 0)
        abort();
    snprintf(archive_path, sizeof archive_path, "/proc/self/fd/%d", archive_fd);
}

/* "a/b/c" made relative to the layout, its parents created; false for a
 * name that could leave it. */
static bool place(const char *name, char *rel, size_t len)
{
    if (!name || !*name || *name == '/' || strlen(name) >= len)
        return false;
    snprintf(rel, len, "%s", name);
    for (char *c = rel; *c; c++)
        if (c[0] == '.' && c[1] == '.' && (c == rel || c[-1] == '/'))
            return false;
    for (char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
        char dir[4096];
        *slash = '\0';
        snprintf(dir, sizeof dir, "%s/%s", layout_dir, rel);
        mkdir(dir, 0755);
        *slash = '/';
    }
    return rel[strlen(rel) - 1] != '/';
}

static void unpack(const uint8_t *data, size_t size)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    struct archive_entry *e;
    if (archive_read_open_memory(a, data, size) == ARCHIVE_OK) {
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
            char rel[512];
            uint8_t buf[1 << 16];
            if (archive_entry_filetype(e) != AE_IFREG ||
                !place(archive_entry_pathname(e), rel, sizeof rel))
                continue;
            la_ssize_t n = archive_read_data(a, buf, sizeof buf);
            fuzz_put(layout_dir, rel, buf, n > 0 ? (size_t)n : 0);
        }
    }
    archive_read_free(a);
}

static void check_list(void)
{
    sm_store s;
    sm_index_entry *list;
    size_t n;
    if (sm_store_open(&s, NULL, SM_STORE_SHARED) != 0 || sm_index_load(&s, &list, &n) != 0)
        abort();
    for (size_t i = 0; i < n; i++) {
        sm_ref ref;
        if (strncmp(list[i].name, "sha256:", 7) && sm_ref_parse(list[i].name, &ref) != 0)
            abort();
    }
    free(list);
    sm_store_close(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (archive_fd < 0)
        setup();
    if (size < 1)
        return 0;
    unsigned how = data[0];
    data++, size--;
    fuzz_empty(store_dir);
    const char *path = archive_path;
    if (how & 1) {
        fuzz_empty(layout_dir);
        unpack(data, size);
        path = layout_dir;
    } else if (ftruncate(archive_fd, 0) < 0 ||
               pwrite(archive_fd, data, size, 0) != (ssize_t)size) {
        abort();
    }
    sm_oci_import_options o = {.name = how & 2 ? "fuzz/extra:1" : NULL,
                               .platform = how & 4 ? "linux/arm64" : NULL};
    sm_oci_image_ref *refs = NULL;
    size_t n = 0;
    if (sm_oci_import(path, &o, NULL, &refs, &n) == 0)
        check_list();
    free(refs);
    return 0;
}
