/* Dedup of sibling snapshots: memory files of snapshots of the same image,
 * memory size and format share their identical pages on disk through
 * FIDEDUPERANGE, where the filesystem can share extents (XFS with
 * reflink=1, btrfs). The kernel compares and shares each range atomically,
 * so a file reads the same bytes at every instant: a run killed at any
 * point leaves every snapshot byte-identical. */
#ifndef SM_SNAPSHOT_DEDUP_H
#define SM_SNAPSHOT_DEDUP_H

#include <stdint.h>

typedef struct sm_snap_dedup_stats {
    uint64_t snapshots;      /* committed snapshots looked at */
    uint64_t groups;         /* distinct (image digest, memory, format) among them */
    uint64_t files;          /* memory files deduped against their group's first */
    uint64_t bytes_compared; /* bytes holding data in both files of a pair */
    uint64_t bytes_shared;   /* of those, shared by this run (not shared before) */
    int unsupported;         /* the filesystem cannot share extents */
    char fs_name[48];        /* which filesystem, when unsupported */
} sm_snap_dedup_stats;

/* Every committed snapshot in `snapshots_dir` (temp dirs and incomplete ones
 * are skipped), grouped by (manifest_digest, memory_mib, format_version);
 * each memory file of a group is deduped against the group's oldest.
 * Stats are added to `st`. -EOPNOTSUPP with a sentence, and nothing
 * changed, when the filesystem cannot share extents. */
int sm_snap_dedup_dir(const char *snapshots_dir, sm_snap_dedup_stats *st);

/* The same for one snapshot (the path of its directory) against its
 * siblings in `snapshots_dir`: what runs after a bake. An unsupported
 * filesystem is not an error here (returns 0, sets st->unsupported). */
int sm_snap_dedup_new(const char *snapshots_dir, const char *new_snapshot,
                      sm_snap_dedup_stats *st);

/* After a bake: sm_snap_dedup_new unless SUPERMACHINE_AUTO_DEDUP=0. Never
 * fails; what it did or why it could not goes to the debug log. */
void sm_snap_dedup_after_bake(const char *snapshots_dir, const char *new_snapshot);

/* --- internals, exposed for dedup_*.c and the tests --- */

#define SM_DEDUP_PAGE 4096u
/* Most one FIDEDUPERANGE call is asked to share (XFS caps a call at 16 MiB
 * and reports a short count past it; asking for no more keeps calls short
 * while the files' locks are held). */
#define SM_DEDUP_MAX_CALL (16u << 20)

/* Runs of identical pages, fed page by page in file order: a run grows
 * while identical pages follow each other and is handed to `emit` when a
 * page differs, a gap comes, it reaches max_run or at flush. */
typedef int (*sm_dedup_emit_fn)(uint64_t off, uint64_t len, void *ctx);
typedef struct sm_dedup_runs {
    uint64_t start, len;     /* the pending run; len 0 when none */
    uint64_t max_run;
    sm_dedup_emit_fn emit;
    void *ctx;
} sm_dedup_runs;

int sm_dedup_runs_page(sm_dedup_runs *r, uint64_t off, int identical);
int sm_dedup_runs_flush(sm_dedup_runs *r);

/* Shares the identical non-hole pages of `dst_fd` with `src_fd` (same
 * offsets). -EOPNOTSUPP (no sentence) when the filesystem refuses. */
int sm_dedup_file(int src_fd, int dst_fd, const char *dst_path, sm_snap_dedup_stats *st);

/* One FIDEDUPERANGE call of `len` bytes at `off` in both files: 0 with the
 * kernel's per-range status (FILE_DEDUPE_RANGE_SAME or _DIFFERS, or a
 * negative errno) and the bytes it shared, or -errno if the call failed. */
int sm_dedup_call(int src_fd, int dst_fd, uint64_t off, uint64_t len, int32_t *status,
                  uint64_t *deduped);

/* 0 when the filesystem holding `path` (and `fd`, when >= 0, a file on it)
 * can share extents; -EOPNOTSUPP with st->unsupported and st->fs_name set
 * and the sentence "dedup: <path> is on <fs>, which cannot ..." otherwise. */
int sm_dedup_fs_check(const char *path, int fd, sm_snap_dedup_stats *st);
/* The same sentence and stats for a filesystem whose FIDEDUPERANGE refused
 * after the check passed; returns -EOPNOTSUPP. */
int sm_dedup_fs_refused(const char *path, sm_snap_dedup_stats *st);

#endif
