/* Byte offsets of the state file's header and section headers, shared by
 * the writer and the reader (docs/snapshot.md describes them). */
#ifndef SM_PERSIST_STATE_LAYOUT_H
#define SM_PERSIST_STATE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

enum {
    SM_SNAP_OFF_MAGIC = 0,
    SM_SNAP_OFF_VERSION = 8,
    SM_SNAP_OFF_HEADER_SIZE = 12,
    SM_SNAP_OFF_TOTAL_LEN = 16,
    SM_SNAP_OFF_COUNT = 24,
    SM_SNAP_OFF_RESERVED = 28,
    SM_SNAP_OFF_DIGEST = 32,
    SM_SNAP_DIGEST_LEN = 32,
    SM_SNAP_SOFF_TYPE = 0,
    SM_SNAP_SOFF_INDEX = 4,
    SM_SNAP_SOFF_FLAGS = 6,
    SM_SNAP_SOFF_LEN = 8,
};

/* Payloads are padded with zeros so every section header is 8-aligned. */
static inline uint64_t sm_snap_pad8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

/* SHA-256 over the header up to the digest field and everything after the
 * header, so every byte but the digest itself is covered. */
int sm_snap_state_digest(const uint8_t *blob, size_t len,
                         uint8_t out[SM_SNAP_DIGEST_LEN]);

#endif
