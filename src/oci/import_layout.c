/* Import from an OCI image layout directory: blobs are copied into the
 * store, each verified against its digest. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/import.h"
#include "util/error.h"
#include "util/file.h"

static int copy_blob(const sm_import *imp, const sm_descriptor *d, const char *what)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/blobs/sha256/%s", imp->path, sm_digest_hex(d->digest));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sm_fail(errno, "%s is missing from the layout (%s: %s)", what, path,
                       strerror(errno));
    sm_blob_writer w;
    int err = sm_blob_writer_open(&w, imp->store, what, d->digest, d->size);
    char buf[1 << 16];
    while (!err) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? sm_fail(errno, "cannot read '%s': %s", path, strerror(errno)) : 0;
            break;
        }
        err = sm_blob_writer_write(&w, buf, (size_t)n);
    }
    close(fd);
    if (err) {
        sm_blob_writer_abort(&w);
        return err;
    }
    return sm_blob_writer_commit(&w, NULL);
}

static int fetch(void *ctx, const sm_descriptor *d, bool is_manifest, const char *what)
{
    const sm_import *imp = ctx;
    (void)is_manifest;
    if (sm_store_has_blob(imp->store, d->digest))
        return 0;
    return copy_blob(imp, d, what);
}

int sm_import_layout_dir(sm_import *imp)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/oci-layout", imp->path);
    if (access(path, F_OK) < 0)
        return sm_fail(EMEDIUMTYPE, "'%s' is not an OCI image layout: it has no oci-layout file",
                       imp->path);
    snprintf(path, sizeof path, "%s/index.json", imp->path);
    sm_mapped_file f;
    int err = sm_file_map(path, "OCI layout index", &f);
    if (err)
        return err;
    if (f.len > SM_MANIFEST_MAX)
        err = sm_fail(EFBIG, "'%s' is larger than the %u bytes allowed", path, SM_MANIFEST_MAX);
    sm_blob_source src = {.fetch = fetch, .ctx = imp};
    if (!err)
        err = sm_import_oci_index(imp, (const char *)f.data, f.len, &src);
    sm_file_unmap(&f);
    return err;
}
