/* The MOUNT message of the agent protocol (see protocol.h): its encoder
 * and decoder, kept beside protocol.c's with the same rules (known tags
 * once each and of the right shape, unknown tags skipped). */
#include <errno.h>
#include <string.h>

#include "agent/protocol.h"

#define TAG_MAX 31

#define FSTYPE_MAX 31

static uint16_t kind_flags(sm_agent_mount_kind k)
{
    return k == SM_AGENT_MOUNT_TMPFS       ? SM_AGENT_F_TMPFS
           : k == SM_AGENT_MOUNT_REMOUNT_RO ? SM_AGENT_F_REMOUNT | SM_AGENT_F_RDONLY
                                            : 0;
}

int sm_agent_encode_mount(sm_agent_wbuf *b, const sm_agent_mount *m)
{
    /* A container's mount says read-only in its options. */
    uint16_t flags = m->kind == SM_AGENT_MOUNT_FS
                         ? 0
                         : kind_flags(m->kind) | (m->read_only ? SM_AGENT_F_RDONLY : 0);
    sm_agent_frame_begin(b, SM_AGENT_MOUNT, flags);
    if (m->kind == SM_AGENT_MOUNT_SHARE)
        sm_agent_put_str(b, SM_AGENT_T_SHARE_TAG, m->tag ? m->tag : "");
    if (m->kind == SM_AGENT_MOUNT_FS)
        sm_agent_put_str(b, SM_AGENT_T_FSTYPE, m->fstype ? m->fstype : "");
    sm_agent_put_str(b, SM_AGENT_T_PATH, m->path ? m->path : "");
    if (m->source)
        sm_agent_put_str(b, SM_AGENT_T_SOURCE, m->source);
    if (m->root)
        sm_agent_put_str(b, SM_AGENT_T_ROOT, m->root);
    if (m->entry)
        sm_agent_put_str(b, SM_AGENT_T_SHARE_ENTRY, m->entry);
    if (m->options)
        sm_agent_put_str(b, SM_AGENT_T_MOUNT_OPTIONS, m->options);
    return sm_agent_frame_end(b);
}

static int bad(const char **why, const char *reason)
{
    *why = reason;
    return -EBADMSG;
}

/* A non-empty string of at most max bytes, NUL-terminated once. */
static bool one_string(const uint8_t *v, uint32_t n, size_t max)
{
    return n >= 2 && n - 1 <= max && v[n - 1] == 0 && !memchr(v, 0, n - 1);
}

static int take(const char **slot, const uint8_t *v, uint32_t n, size_t max, const char **why)
{
    if (*slot)
        return bad(why, "a field appears twice");
    if (!one_string(v, n, max))
        return bad(why, "a string field is empty, too long or not one NUL-terminated string");
    *slot = (const char *)v;
    return 0;
}

/* Each kind has its own fields: a share's on a tmpfs would be ignored, so
 * they are refused instead. */
static int check(const sm_agent_mount *m, const char **why)
{
    if (!m->path)
        return bad(why, "MOUNT needs a path");
    if (m->path[0] != '/')
        return bad(why, "MOUNT needs an absolute path");
    if (m->kind == SM_AGENT_MOUNT_SHARE && !m->tag)
        return bad(why, "MOUNT of a share needs a share tag");
    if (m->kind != SM_AGENT_MOUNT_SHARE && (m->tag || m->entry))
        return bad(why, "only a share's MOUNT has a share tag or entry");
    if (m->kind != SM_AGENT_MOUNT_TMPFS && m->kind != SM_AGENT_MOUNT_FS && m->options)
        return bad(why, "only a tmpfs's or a container's MOUNT has options");
    if (m->kind == SM_AGENT_MOUNT_TMPFS && m->options &&
        strlen(m->options) > SM_AGENT_TMPFS_OPTIONS_MAX)
        return bad(why, "a tmpfs's options are too long");
    if (m->kind != SM_AGENT_MOUNT_FS && (m->source || m->root))
        return bad(why, "only a container's MOUNT has a source or a root");
    if (m->root && m->root[0] != '/')
        return bad(why, "a MOUNT's root is an absolute path");
    if (m->source && m->source[0] != '/')
        return bad(why, "a MOUNT's source is an absolute path");
    if (m->kind == SM_AGENT_MOUNT_REMOUNT_RO && !m->read_only)
        return bad(why, "a remount makes a mount read-only");
    if (m->entry && (strchr(m->entry, '/') || !strcmp(m->entry, ".") || !strcmp(m->entry, "..")))
        return bad(why, "a share entry is one file name");
    return 0;
}

int sm_agent_decode_mount(const sm_agent_frame *f, sm_agent_mount *m, const char **why)
{
    if (f->type != SM_AGENT_MOUNT)
        return bad(why, "unexpected frame type");
    *m = (sm_agent_mount){.read_only = f->flags & SM_AGENT_F_RDONLY};
    if ((f->flags & SM_AGENT_F_TMPFS) && (f->flags & SM_AGENT_F_REMOUNT))
        return bad(why, "MOUNT is a tmpfs or a remount, not both");
    m->kind = f->flags & SM_AGENT_F_TMPFS     ? SM_AGENT_MOUNT_TMPFS
              : f->flags & SM_AGENT_F_REMOUNT ? SM_AGENT_MOUNT_REMOUNT_RO
                                              : SM_AGENT_MOUNT_SHARE;
    sm_agent_tlv_iter it = {f->payload, f->len};
    uint16_t tag;
    const uint8_t *v;
    uint32_t n;
    int r = 0, err = 0;
    while (!err && (r = sm_agent_tlv_next(&it, &tag, &v, &n)) > 0) {
        if (tag == SM_AGENT_T_SHARE_TAG)
            err = take(&m->tag, v, n, TAG_MAX, why);
        else if (tag == SM_AGENT_T_PATH)
            err = take(&m->path, v, n, 4095, why);
        else if (tag == SM_AGENT_T_SHARE_ENTRY)
            err = take(&m->entry, v, n, 255, why);
        else if (tag == SM_AGENT_T_MOUNT_OPTIONS)
            err = take(&m->options, v, n, SM_AGENT_MOUNT_OPTIONS_MAX, why);
        else if (tag == SM_AGENT_T_FSTYPE)
            err = take(&m->fstype, v, n, FSTYPE_MAX, why);
        else if (tag == SM_AGENT_T_SOURCE)
            err = take(&m->source, v, n, 4095, why);
        else if (tag == SM_AGENT_T_ROOT)
            err = take(&m->root, v, n, 4095, why);
    }
    if (err)
        return err;
    if (r < 0)
        return bad(why, "a field overruns the frame");
    /* The type marks a container's mount, whose flags are in its options. */
    if (m->fstype && f->flags)
        return bad(why, "a container's MOUNT has no flags");
    if (m->fstype)
        m->kind = SM_AGENT_MOUNT_FS;
    return check(m, why);
}
