/* A snapshot's metadata.json: what it was made from, for humans and for
 * deciding whether it can be reused. */
#ifndef SM_SNAPSHOT_METADATA_H
#define SM_SNAPSHOT_METADATA_H

#include <stdint.h>

typedef struct sm_snap_meta {
    uint32_t format_version;   /* set to SM_SNAP_FORMAT_VERSION on write */
    char image_ref[512];       /* "docker.io/library/alpine:3.20"; "" without an image */
    char manifest_digest[80];  /* "sha256:<64 hex>"; "" without an image */
    char kernel_id[80];        /* build id of the guest kernel */
    char init_id[80];          /* build id of sm-init */
    uint32_t memory_mib;
    uint32_t vcpus;
    char parent[4096];         /* a diff snapshot's parent directory; "" for a full one */
    int64_t created;           /* Unix seconds; written as RFC 3339 UTC */
    char fingerprint[80];      /* a bake's key, or "live:<random>" */
    char kind[16];             /* "bake", "snapshot" or "diff" */
    uint32_t main_pid;         /* a detached VM's kept main process in the guest; 0: none */
    char command[512];         /* that process, as `ps` shows it; "" if none */
} sm_snap_meta;

/* Writes `path` durably (temp file, fsync, rename). Every string must be
 * set (parent may be empty) and memory_mib and vcpus non-zero. */
int sm_snap_meta_write(const char *path, const sm_snap_meta *m);
/* Refuses a file of another format version, a missing or mistyped field and
 * a string that does not fit. */
int sm_snap_meta_read(const char *path, sm_snap_meta *m);

#endif
