/*
 * Runs a libFuzzer harness without libFuzzer (gcc builds, the sanitizer
 * build): valid frames of every type, then a fixed number of seeded random
 * mutations of them (flipped bytes, cut streams, bent length fields). Not a
 * fuzzer, a regression smoke test of the same entry point.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One of each message, back to back. */
static void seeds(sm_agent_wbuf *b)
{
    const char *argv[] = {"sh", "-c", "true", NULL}, *env[] = {"A=1", NULL};
    const uint32_t groups[] = {1, 2};
    sm_agent_encode_hello(b, &(sm_agent_hello){SM_AGENT_VERSION});
    sm_agent_encode_exec(b, &(sm_agent_exec_req){.argv = argv, .env = env, .cwd = "/", .uid = 1,
                                                 .gid = 2, .groups = groups, .ngroups = 2,
                                                 .has_groups = true, .timeout_ms = 5,
                                                 .stdin_pipe = true, .pty = true, .keep = true,
                                                 .rows = 3, .cols = 4, .root = "/r",
                                                 .has_umask = true, .umask = 022,
                                                 .no_new_privs = true});
    sm_agent_encode_mount(b, &(sm_agent_mount){.kind = SM_AGENT_MOUNT_FS, .fstype = "bind",
                                               .source = "/s", .path = "/t",
                                               .options = "ro,rbind", .root = "/r"});
    sm_agent_encode_attach(b, 7);
    sm_agent_encode_data(b, SM_AGENT_STDIN, "in", 2, true);
    sm_agent_encode_signal(b, &(sm_agent_signal){15, true});
    sm_agent_encode_resize(b, &(sm_agent_winsize){1, 2});
    sm_agent_encode_started(b, 7);
    sm_agent_encode_exit(b, &(sm_agent_exit){.status = 1, .maxrss_kib = 2});
    sm_agent_encode_exit(b, &(sm_agent_exit){.termsig = 9, .timed_out = true});
    sm_agent_encode_error(b, &(sm_agent_error){2, "x"});
    sm_agent_encode_ok(b, 9);
    sm_agent_encode_file_req(b, SM_AGENT_FILE_WRITE, &(sm_agent_file_req){"/f", 0600, true, false, 1, 1});
    sm_agent_encode_file_req(b, SM_AGENT_FILE_READ, &(sm_agent_file_req){.path = "/f"});
    sm_agent_encode_file_req(b, SM_AGENT_STAT, &(sm_agent_file_req){.path = "/f", .nofollow = true});
    sm_agent_encode_stat_reply(b, &(sm_agent_stat_reply){.mode = 0100644, .size = 3});
    sm_agent_encode_data(b, SM_AGENT_FILE_DATA, "abc", 3, false);
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200000;
    sm_agent_wbuf b = {.grow = true};
    seeds(&b);
    LLVMFuzzerTestOneInput(b.data, b.len);
    uint8_t *m = malloc(b.len);
    uint64_t s = 0x2545f4914f6cdd1du;
    for (long r = 0; r < rounds; r++) {
        memcpy(m, b.data, b.len);
        size_t len = b.len;
        for (int k = (int)(next(&s) % 8); k >= 0; k--) {
            size_t at = next(&s) % len;
            switch (next(&s) % 4) {
            case 0: m[at] ^= (uint8_t)(1u << (next(&s) % 8)); break;
            case 1: m[at] = (uint8_t)next(&s); break;
            case 2: len = at + 1; break;
            default: m[at] = (uint8_t)(m[at] + (next(&s) % 8) - 4); break;
            }
        }
        size_t start = next(&s) % 4 == 0 ? next(&s) % len : 0;
        LLVMFuzzerTestOneInput(m + start, len - start);
    }
    free(m);
    sm_agent_wbuf_free(&b);
    printf("%ld mutated inputs decoded\n", rounds);
    return 0;
}
