/* The content-addressed blob store under the data directory:
 *
 *   <root>/lock                    flock: shared while pulling, importing or
 *                                  reading blobs; exclusive while collecting
 *   <root>/images.json             name -> manifest digest (store_index.h)
 *   <root>/blobs/sha256/<hex>      complete, verified blobs (read-only)
 *   <root>/blobs/sha256/.partial-* blobs being written; never read as blobs
 *
 * A blob appears under its digest only by rename() after its size and digest
 * were checked and its data fsync'd, so a crash at any point leaves either
 * no blob or a whole one. */
#ifndef SM_OCI_STORE_H
#define SM_OCI_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/digest.h"

typedef struct sm_store {
    char root[PATH_MAX - 128];   /* room for the longest blob path below it */
    int lock_fd;
} sm_store;

typedef enum sm_store_mode {
    SM_STORE_SHARED,      /* pull, import, read */
    SM_STORE_EXCLUSIVE,   /* gc: no one else is writing or reading */
} sm_store_mode;

/* The store's directory: $SUPERMACHINE_DATA_DIR, else
 * $XDG_DATA_HOME/supermachine, else ~/.local/share/supermachine. */
int sm_store_default_root(char *out, size_t len);

/* Create the directories if needed and take the store lock; root NULL means
 * the default. Waits for the lock. */
int sm_store_open(sm_store *s, const char *root, sm_store_mode mode);
void sm_store_close(sm_store *s);

void sm_store_blob_path(const sm_store *s, const char *digest, char *out, size_t len);
bool sm_store_has_blob(const sm_store *s, const char *digest);

/* Read a whole blob of at most `max` bytes, re-verifying its digest; the
 * result is NUL-terminated (not counted in *len) and freed by the caller. */
int sm_store_read_blob(const sm_store *s, const char *digest, size_t max,
                       char **data, size_t *len);

/* Streams bytes into a temporary file, hashing them, and moves them into
 * place only if they match what was expected. */
typedef struct sm_blob_writer {
    const sm_store *store;
    int fd;
    char tmp[PATH_MAX];
    sm_hasher hash;
    uint64_t written;
    char expect[SM_DIGEST_STR];   /* "" when the digest is not known ahead */
    int64_t expect_size;          /* -1 when unknown */
    char what[160];               /* names the blob in errors */
} sm_blob_writer;

/* expect_digest may be NULL (computed on commit); expect_size -1 if unknown. */
int sm_blob_writer_open(sm_blob_writer *w, const sm_store *s, const char *what,
                        const char *expect_digest, int64_t expect_size);
int sm_blob_writer_write(sm_blob_writer *w, const void *data, size_t len);
/* Start again from nothing, as when a download is retried. */
int sm_blob_writer_reset(sm_blob_writer *w);
/* Verify, fsync and rename into place; writes the digest to `digest` if not
 * NULL. The writer is closed either way. */
int sm_blob_writer_commit(sm_blob_writer *w, char digest[SM_DIGEST_STR]);
/* Discard a writer that was not committed (safe after commit too). */
void sm_blob_writer_abort(sm_blob_writer *w);

/* Store a blob held in memory. */
int sm_store_put_blob(const sm_store *s, const char *what, const void *data, size_t len,
                      const char *expect_digest, char digest[SM_DIGEST_STR]);


#endif
