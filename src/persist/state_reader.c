/* Reading and validating a state blob. Everything in it is untrusted until
 * the checks below pass: a damaged file is refused with a sentence. */
#include "persist/state_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist/state_layout.h"
#include "util/error.h"
#include "util/le.h"

struct sm_snap_reader {
    uint8_t *blob;
    size_t len;
    sm_snap_section *sections;
    size_t count;
};

void sm_snap_reader_close(sm_snap_reader *r)
{
    if (!r)
        return;
    free(r->sections);
    free(r->blob);
    free(r);
}

static int check_header(const uint8_t *b, size_t len, uint32_t *count)
{
    if (len < SM_SNAP_HEADER_SIZE)
        return sm_fail(EPROTO, "snapshot state is truncated (%zu bytes, the header alone "
                       "is %u); bake the snapshot again", len, SM_SNAP_HEADER_SIZE);
    if (memcmp(b + SM_SNAP_OFF_MAGIC, SM_SNAP_MAGIC, 8) != 0)
        return sm_fail(EPROTO, "not a supermachine snapshot state file (bad magic)");
    uint32_t version = sm_le32_get(b + SM_SNAP_OFF_VERSION);
    if (version != SM_SNAP_FORMAT_VERSION)
        return sm_fail(EPROTONOSUPPORT, "snapshot state has format version %u but this "
                       "supermachine reads version %u: the snapshot was made by another "
                       "version and must be baked again", version, SM_SNAP_FORMAT_VERSION);
    if (sm_le32_get(b + SM_SNAP_OFF_HEADER_SIZE) != SM_SNAP_HEADER_SIZE)
        return sm_fail(EPROTO, "snapshot state header size is %u, expected %u",
                       sm_le32_get(b + SM_SNAP_OFF_HEADER_SIZE), SM_SNAP_HEADER_SIZE);
    uint64_t total = sm_le64_get(b + SM_SNAP_OFF_TOTAL_LEN);
    if (total != len)
        return sm_fail(EPROTO, "snapshot state is %zu bytes but its header says %llu: "
                       "the file is truncated or damaged; bake the snapshot again",
                       len, (unsigned long long)total);
    uint8_t digest[SM_SNAP_DIGEST_LEN];
    int rc = sm_snap_state_digest(b, len, digest);
    if (rc < 0)
        return rc;
    if (memcmp(digest, b + SM_SNAP_OFF_DIGEST, SM_SNAP_DIGEST_LEN) != 0)
        return sm_fail(EBADMSG, "snapshot state checksum mismatch: the file is damaged; "
                       "bake the snapshot again");
    *count = sm_le32_get(b + SM_SNAP_OFF_COUNT);
    return 0;
}

static int zero_bytes(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Parses the section header at `off`, advancing it past the padded payload. */
static int parse_one(const uint8_t *b, size_t len, size_t *off, sm_snap_section *s)
{
    size_t left = len - *off;
    if (left < SM_SNAP_SECTION_HEADER_SIZE)
        return sm_fail(EPROTO, "snapshot state: section header at offset %zu runs past "
                       "the end", *off);
    const uint8_t *h = b + *off;
    s->type = sm_le32_get(h + SM_SNAP_SOFF_TYPE);
    s->index = sm_le16_get(h + SM_SNAP_SOFF_INDEX);
    s->flags = sm_le16_get(h + SM_SNAP_SOFF_FLAGS);
    s->len = sm_le64_get(h + SM_SNAP_SOFF_LEN);
    left -= SM_SNAP_SECTION_HEADER_SIZE;
    if (s->len > left || sm_snap_pad8(s->len) > left)
        return sm_fail(EPROTO, "snapshot state: section 0x%x at offset %zu claims %llu "
                       "bytes, only %zu remain", s->type, *off,
                       (unsigned long long)s->len, left);
    if (s->flags & ~SM_SNAP_SECTION_FLAGS_KNOWN)
        return sm_fail(EPROTO, "snapshot state: section 0x%x has unknown flags 0x%x",
                       s->type, s->flags);
    s->data = h + SM_SNAP_SECTION_HEADER_SIZE;
    if (!zero_bytes(s->data + s->len, sm_snap_pad8(s->len) - s->len))
        return sm_fail(EPROTO, "snapshot state: section 0x%x has non-zero padding", s->type);
    *off += SM_SNAP_SECTION_HEADER_SIZE + sm_snap_pad8(s->len);
    return 0;
}

static int by_key(const void *a, const void *b)
{
    const sm_snap_section *x = a, *y = b;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int check_unique(const sm_snap_section *s, size_t n)
{
    if (n < 2)
        return 0;
    sm_snap_section *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return sm_fail(ENOMEM, "out of memory reading the snapshot state");
    memcpy(sorted, s, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_key);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++)
        if (by_key(&sorted[i - 1], &sorted[i]) == 0)
            rc = sm_fail(EPROTO, "snapshot state: section 0x%x index %u appears twice",
                         sorted[i].type, sorted[i].index);
    free(sorted);
    return rc;
}

static int parse_sections(sm_snap_reader *r, uint32_t count)
{
    /* Each section takes at least its header, which bounds the allocation. */
    if (count > (r->len - SM_SNAP_HEADER_SIZE) / SM_SNAP_SECTION_HEADER_SIZE)
        return sm_fail(EPROTO, "snapshot state claims %u sections, more than fit", count);
    r->sections = calloc(count ? count : 1, sizeof *r->sections);
    if (!r->sections)
        return sm_fail(ENOMEM, "out of memory reading the snapshot state");
    size_t off = SM_SNAP_HEADER_SIZE;
    for (uint32_t i = 0; i < count; i++) {
        sm_snap_section s;
        int rc = parse_one(r->blob, r->len, &off, &s);
        if (rc < 0)
            return rc;
        if (sm_snap_section_type_known(s.type))
            r->sections[r->count++] = s;
        else if (!(s.flags & SM_SNAP_SECTION_OPTIONAL))
            return sm_fail(EPROTONOSUPPORT, "snapshot state has a required section of "
                           "unknown type 0x%x: it was made by a newer supermachine; "
                           "bake the snapshot again", s.type);
    }
    if (off != r->len)
        return sm_fail(EPROTO, "snapshot state has %zu stray bytes after its %u sections",
                       r->len - off, count);
    return check_unique(r->sections, r->count);
}

/* Takes ownership of `blob`. */
static int open_blob(uint8_t *blob, size_t len, sm_snap_reader **out)
{
    sm_snap_reader *r = calloc(1, sizeof *r);
    if (!r) {
        free(blob);
        return sm_fail(ENOMEM, "out of memory reading the snapshot state");
    }
    r->blob = blob;
    r->len = len;
    uint32_t count = 0;
    int rc = check_header(blob, len, &count);
    if (rc == 0)
        rc = parse_sections(r, count);
    if (rc < 0) {
        sm_snap_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int sm_snap_reader_open_mem(const void *data, size_t len, sm_snap_reader **out)
{
    if (len > SM_SNAP_MAX_STATE_SIZE)
        return sm_fail(EFBIG, "snapshot state of %zu bytes is too large to be one", len);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return sm_fail(ENOMEM, "out of memory reading the snapshot state");
    if (len)
        memcpy(copy, data, len);
    return open_blob(copy, len, out);
}

static int read_file(int fd, const char *path, uint8_t **blob, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return sm_fail(errno, "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)SM_SNAP_MAX_STATE_SIZE)
        return sm_fail(EPROTO, "%s is not a snapshot state file", path);
    size_t size = (size_t)st.st_size, got = 0;
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return sm_fail(ENOMEM, "out of memory reading %s", path);
    while (got < size) {
        ssize_t n = read(fd, b + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(b);
            return n < 0 ? sm_fail(errno, "cannot read %s: %s", path, strerror(errno))
                         : sm_fail(EPROTO, "%s shrank while being read", path);
        }
        got += (size_t)n;
    }
    *blob = b;
    *len = size;
    return 0;
}

int sm_snap_reader_open(const char *path, sm_snap_reader **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return sm_fail(errno, "cannot open snapshot state %s: %s", path, strerror(errno));
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = read_file(fd, path, &blob, &len);
    close(fd);
    if (rc < 0)
        return rc;
    rc = open_blob(blob, len, out);
    return rc < 0 ? sm_fail_context(rc, "%s", path) : 0;
}

size_t sm_snap_reader_count(const sm_snap_reader *r)
{
    return r->count;
}

const sm_snap_section *sm_snap_reader_at(const sm_snap_reader *r, size_t i)
{
    return i < r->count ? &r->sections[i] : NULL;
}

const sm_snap_section *sm_snap_reader_find(const sm_snap_reader *r, uint32_t type,
                                           uint16_t index)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->sections[i].type == type && r->sections[i].index == index)
            return &r->sections[i];
    return NULL;
}

int sm_snap_reader_need(const sm_snap_reader *r, uint32_t type, uint16_t index,
                        const sm_snap_section **out)
{
    *out = sm_snap_reader_find(r, type, index);
    if (!*out)
        return sm_fail(ENOENT, "snapshot state lacks section 0x%x index %u; bake the "
                       "snapshot again", type, index);
    return 0;
}
