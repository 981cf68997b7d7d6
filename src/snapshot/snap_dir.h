/* Creating a snapshot directory atomically, and its sparse memory file. */
#ifndef SM_SNAPSHOT_SNAP_DIR_H
#define SM_SNAPSHOT_SNAP_DIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_SNAP_META_FILE "metadata.json"
#define SM_SNAP_MEMORY_FILE "memory"
#define SM_SNAP_STATE_FILE "state"
/* Diff snapshots stacked on one full one, at most. */
#define SM_SNAP_MAX_CHAIN 16

/* A snapshot being written: files go into `tmp` (".<name>.tmp-<pid>-<n>"
 * next to `final`), and commit renames it to `final`. Until then nothing
 * exists at `final`, so a kill -9 at any point leaves no snapshot or a
 * complete one; the leftover temp dir is never taken for a snapshot. */
typedef struct sm_snap_dir_tx {
    char final[PATH_MAX];
    char tmp[PATH_MAX];
} sm_snap_dir_tx;

int sm_snap_dir_begin(const char *final, sm_snap_dir_tx *tx);
/* "<tmp>/<name>" into `out`. */
int sm_snap_dir_file(const sm_snap_dir_tx *tx, const char *name, char *out, size_t size);
/* fsyncs the temp dir, renames it to `final` without replacing anything,
 * fsyncs the parent. -EEXIST (temp dir removed) when `final` appeared in
 * the meantime: another bake of the same fingerprint won. */
int sm_snap_dir_commit(sm_snap_dir_tx *tx);
/* Removes the temp dir and what was written in it. */
void sm_snap_dir_abort(sm_snap_dir_tx *tx);

/* Removes a snapshot directory (renamed out of the way first, so no
 * reader ever sees it half gone). A missing one is not an error. */
int sm_snap_dir_remove(const char *path);

/* True for a name sm_snap_dir_begin uses for temp dirs: listings skip it. */
int sm_snap_dir_is_temp_name(const char *name);
/* 0 when `path` is a committed snapshot directory holding all three files;
 * a negative errno with a sentence otherwise. */
int sm_snap_dir_check(const char *path);

/* Whether path is this user's own directory (dir) or regular file, not a
 * symlink and not writable by group or others; else -EPERM, -ELOOP or
 * -EINVAL with a sentence. sm_snap_dir_check applies it to the directory
 * and each of its files. */
int sm_snap_file_trusted(const char *path, bool dir);

/* Writes guest RAM to a new file at `path`, leaving every all-zero 4 KiB
 * page a hole, then fsyncs it. `allocated` (may be NULL) gets the bytes the
 * file really occupies on disk. */
int sm_snap_memory_write(const char *path, const void *ram, size_t len, uint64_t *allocated);

/* A page-aligned byte range of guest RAM (its host mapping). */
typedef struct sm_snap_run {
    uint64_t off, len;
} sm_snap_run;

/* The same for a diff snapshot: only the runs are written (their zero
 * pages as holes too: a run says "take these bytes from this file"). */
int sm_snap_memory_write_runs(const char *path, const void *ram, size_t len,
                              const sm_snap_run *runs, size_t nruns, uint64_t *allocated);

/* The same into an empty file already open for writing: a confined worker
 * cannot create files where snapshots go, its caller opens them
 * (`name` is for messages). The descriptor stays open. */
int sm_snap_memory_write_fd(int fd, const char *name, const void *ram, size_t len,
                            const sm_snap_run *runs, size_t nruns);

#endif
