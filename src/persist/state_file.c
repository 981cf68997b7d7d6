/* Building a state blob section by section. */
#include "persist/state_file.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"
#include "persist/state_layout.h"
#include "util/error.h"
#include "util/le.h"

struct sm_snap_writer {
    uint8_t *buf;
    size_t len, cap;
    uint32_t count;
};

int sm_snap_section_type_known(uint32_t type)
{
    switch (type) {
    case SM_SNAP_VCPU_REGS: case SM_SNAP_VCPU_SREGS: case SM_SNAP_VCPU_FPU:
    case SM_SNAP_VCPU_XSAVE: case SM_SNAP_VCPU_XCRS: case SM_SNAP_VCPU_MSRS:
    case SM_SNAP_VCPU_LAPIC: case SM_SNAP_VCPU_EVENTS: case SM_SNAP_VCPU_DEBUGREGS:
    case SM_SNAP_VCPU_MP_STATE: case SM_SNAP_VCPU_CPUID:
    case SM_SNAP_VM_PIC: case SM_SNAP_VM_IOAPIC: case SM_SNAP_VM_PIT:
    case SM_SNAP_VM_CLOCK: case SM_SNAP_DEVICE: case SM_SNAP_SERIAL:
    case SM_SNAP_MACHINE: case SM_SNAP_MEMORY_RUNS:
        return 1;
    default:
        return 0;
    }
}

int sm_snap_state_digest(const uint8_t *blob, size_t len, uint8_t out[SM_SNAP_DIGEST_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(ctx, blob, SM_SNAP_OFF_DIGEST) &&
             EVP_DigestUpdate(ctx, blob + SM_SNAP_HEADER_SIZE, len - SM_SNAP_HEADER_SIZE) &&
             EVP_DigestFinal_ex(ctx, out, &n) && n == SM_SNAP_DIGEST_LEN;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : sm_fail(ENOMEM, "cannot compute SHA-256 of the snapshot state");
}

static int reserve(sm_snap_writer *w, size_t more)
{
    if (more > SM_SNAP_MAX_STATE_SIZE - w->len)
        return sm_fail(EFBIG, "snapshot state would exceed %u MiB",
                       SM_SNAP_MAX_STATE_SIZE >> 20);
    size_t need = w->len + more;
    if (need <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(w->buf, cap);
    if (!b)
        return sm_fail(ENOMEM, "out of memory building the snapshot state");
    memset(b + w->cap, 0, cap - w->cap);  /* padding and header stay zero */
    w->buf = b;
    w->cap = cap;
    return 0;
}

int sm_snap_writer_begin(sm_snap_writer **out)
{
    sm_snap_writer *w = calloc(1, sizeof *w);
    if (!w)
        return sm_fail(ENOMEM, "out of memory building the snapshot state");
    int rc = reserve(w, SM_SNAP_HEADER_SIZE);
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->len = SM_SNAP_HEADER_SIZE;
    *out = w;
    return 0;
}

static int has_section(const sm_snap_writer *w, uint32_t type, uint16_t index)
{
    size_t off = SM_SNAP_HEADER_SIZE;
    while (off < w->len) {
        const uint8_t *h = w->buf + off;
        if (sm_le32_get(h + SM_SNAP_SOFF_TYPE) == type &&
            sm_le16_get(h + SM_SNAP_SOFF_INDEX) == index)
            return 1;
        off += SM_SNAP_SECTION_HEADER_SIZE + sm_snap_pad8(sm_le64_get(h + SM_SNAP_SOFF_LEN));
    }
    return 0;
}

int sm_snap_writer_add_section(sm_snap_writer *w, uint32_t type, uint16_t index,
                               uint16_t flags, const void *data, size_t len)
{
    if (flags & ~SM_SNAP_SECTION_FLAGS_KNOWN)
        return sm_fail(EINVAL, "snapshot section 0x%x: unknown flags 0x%x", type, flags);
    if (len && !data)
        return sm_fail(EINVAL, "snapshot section 0x%x: no data", type);
    if (has_section(w, type, index))
        return sm_fail(EEXIST, "snapshot section 0x%x index %u written twice", type, index);
    if (len > SM_SNAP_MAX_STATE_SIZE)
        return sm_fail(EFBIG, "snapshot section 0x%x is too large", type);
    int rc = reserve(w, SM_SNAP_SECTION_HEADER_SIZE + sm_snap_pad8(len));
    if (rc < 0)
        return rc;
    uint8_t *h = w->buf + w->len;
    sm_le32_put(h + SM_SNAP_SOFF_TYPE, type);
    sm_le16_put(h + SM_SNAP_SOFF_INDEX, index);
    sm_le16_put(h + SM_SNAP_SOFF_FLAGS, flags);
    sm_le64_put(h + SM_SNAP_SOFF_LEN, len);
    if (len)
        memcpy(h + SM_SNAP_SECTION_HEADER_SIZE, data, len);
    w->len += SM_SNAP_SECTION_HEADER_SIZE + sm_snap_pad8(len);
    w->count++;
    return 0;
}

void sm_snap_writer_abort(sm_snap_writer *w)
{
    if (!w)
        return;
    free(w->buf);
    free(w);
}

static int seal(sm_snap_writer *w)
{
    uint8_t *h = w->buf;
    memcpy(h + SM_SNAP_OFF_MAGIC, SM_SNAP_MAGIC, 8);
    sm_le32_put(h + SM_SNAP_OFF_VERSION, SM_SNAP_FORMAT_VERSION);
    sm_le32_put(h + SM_SNAP_OFF_HEADER_SIZE, SM_SNAP_HEADER_SIZE);
    sm_le64_put(h + SM_SNAP_OFF_TOTAL_LEN, w->len);
    sm_le32_put(h + SM_SNAP_OFF_COUNT, w->count);
    sm_le32_put(h + SM_SNAP_OFF_RESERVED, 0);
    return sm_snap_state_digest(w->buf, w->len, h + SM_SNAP_OFF_DIGEST);
}

int sm_snap_writer_finish_mem(sm_snap_writer *w, uint8_t **blob, size_t *len)
{
    int rc = seal(w);
    if (rc == 0) {
        *blob = w->buf;
        *len = w->len;
        w->buf = NULL;
    }
    sm_snap_writer_abort(w);
    return rc;
}

int sm_snap_writer_finish_fd(sm_snap_writer *w, int fd, const char *name)
{
    int rc = seal(w);
    if (rc == 0 && (rc = sm_write_all(fd, w->buf, w->len)) < 0)
        rc = sm_fail(-rc, "cannot write %s: %s", name, strerror(-rc));
    if (rc == 0 && fsync(fd) < 0)
        rc = sm_fail(errno, "cannot fsync %s: %s", name, strerror(errno));
    sm_snap_writer_abort(w);
    return rc;
}

int sm_snap_writer_finish_file(sm_snap_writer *w, const char *path)
{
    int rc = seal(w);
    if (rc == 0)
        rc = sm_file_write_atomic(path, w->buf, w->len, 0600);
    sm_snap_writer_abort(w);
    return rc;
}
