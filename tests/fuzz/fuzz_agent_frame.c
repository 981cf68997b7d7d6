/*
 * libFuzzer harness for the agent's frame and TLV decoder: the bytes are a
 * stream of frames as a peer would send them; every frame that parses goes
 * through the decoder for its type. ASan/UBSan catch any read out of
 * bounds; the asserts catch a decoder that accepts what it should not.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/protocol.h"

static void decode(const sm_agent_frame *f)
{
    const char *why = NULL;
    union {
        sm_agent_hello h;
        sm_agent_error e;
        sm_agent_exec_req x;
        sm_agent_signal s;
        sm_agent_winsize w;
        sm_agent_exit ex;
        sm_agent_file_req fr;
        sm_agent_stat_reply st;
        sm_agent_system sys;
        sm_agent_mount mnt;
        sm_agent_tcp_connect tcp;
        uint64_t size;
        uint32_t pid;
    } m;
    int r = 0;
    switch (f->type) {
    case SM_AGENT_HELLO: r = sm_agent_decode_hello(f, &m.h, &why); break;
    case SM_AGENT_ERROR: r = sm_agent_decode_error(f, &m.e, &why); break;
    case SM_AGENT_OK: r = sm_agent_decode_ok(f, &m.size, &why); break;
    case SM_AGENT_STARTED: r = sm_agent_decode_started(f, &m.pid, &why); break;
    case SM_AGENT_ATTACH:
        r = sm_agent_decode_attach(f, &m.pid, &why);
        if (r == 0)
            assert(m.pid >= 1 && m.pid <= INT32_MAX);
        break;
    case SM_AGENT_SIGNAL: r = sm_agent_decode_signal(f, &m.s, &why); break;
    case SM_AGENT_RESIZE: r = sm_agent_decode_resize(f, &m.w, &why); break;
    case SM_AGENT_EXIT: r = sm_agent_decode_exit(f, &m.ex, &why); break;
    case SM_AGENT_STAT_REPLY:
        r = sm_agent_decode_stat_reply(f, &m.st, &why);
        if (r == 0)
            assert(!m.st.target || strlen(m.st.target) <= SM_AGENT_TARGET_MAX);
        break;
    case SM_AGENT_FILE_WRITE:
    case SM_AGENT_FILE_READ:
    case SM_AGENT_STAT:
    case SM_AGENT_MKDIR:
    case SM_AGENT_LINK:
        r = sm_agent_decode_file_req(f, &m.fr, &why);
        if (r == 0)
            assert(strlen(m.fr.path) > 0 && (f->type != SM_AGENT_LINK ||
                                             (m.fr.target && strlen(m.fr.target) > 0 &&
                                              strlen(m.fr.target) <= SM_AGENT_TARGET_MAX)));
        break;
    case SM_AGENT_SYSTEM:
        r = sm_agent_decode_system(f, &m.sys, &why);
        if (r == 0)
            assert((!m.sys.hostname || strlen(m.sys.hostname) <= 64) &&
                   m.sys.seed_len <= SM_AGENT_SEED_MAX);
        break;
    case SM_AGENT_MOUNT:
        r = sm_agent_decode_mount(f, &m.mnt, &why);
        if (r == 0)
            assert(m.mnt.path && m.mnt.path[0] == '/' &&
                   (m.mnt.kind != SM_AGENT_MOUNT_SHARE || m.mnt.tag) &&
                   (m.mnt.kind == SM_AGENT_MOUNT_FS) == (m.mnt.fstype != NULL) &&
                   (!m.mnt.source || (m.mnt.kind == SM_AGENT_MOUNT_FS &&
                                      m.mnt.source[0] == '/')) &&
                   (!m.mnt.root || (m.mnt.kind == SM_AGENT_MOUNT_FS && m.mnt.root[0] == '/')) &&
                   (!m.mnt.options || strlen(m.mnt.options) <= SM_AGENT_MOUNT_OPTIONS_MAX));
        break;
    case SM_AGENT_TCP_CONNECT:
        r = sm_agent_decode_tcp_connect(f, &m.tcp, &why);
        if (r == 0)
            assert(m.tcp.port != 0);
        break;
    case SM_AGENT_EXEC:
        r = sm_agent_decode_exec(f, &m.x, &why);
        if (r == 0) {
            /* Every string must be usable as one: touch them all. */
            size_t n = 0;
            for (size_t i = 0; m.x.argv[i]; i++)
                n += strlen(m.x.argv[i]);
            for (size_t i = 0; m.x.env && m.x.env[i]; i++)
                n += strlen(m.x.env[i]);
            for (size_t i = 0; i < m.x.ngroups; i++)
                n += m.x.groups[i] & 1;
            assert(m.x.argv[0] && n < 2 * SM_AGENT_MAX_PAYLOAD);
            assert(!m.x.root || m.x.root[0] == '/');
            assert(m.x.umask <= 0777 && (m.x.has_umask || m.x.umask == 0));
            sm_agent_exec_req_release(&m.x);
        }
        break;
    default:
        assert(sm_agent_type_is_data(f->type));
        break;
    }
    assert(r == 0 || why != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pos = 0;
    for (;;) {
        sm_agent_frame f;
        size_t need;
        const char *why = NULL;
        int n = sm_agent_frame_parse(data + pos, size - pos, &f, &need, &why);
        if (n <= 0) {
            assert(n == 0 || why != NULL);
            assert(n < 0 || need > size - pos);
            return 0;
        }
        assert((size_t)n <= size - pos && f.len + SM_AGENT_HEADER_SIZE == (size_t)n);
        decode(&f);
        pos += (size_t)n;
    }
}
