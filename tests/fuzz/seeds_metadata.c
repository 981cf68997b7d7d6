/* Seeds for the small text formats: references, registry answers, the
 * image list, credential helper answers, machine.json and metadata.json
 * (the last three by the project's own writers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/machine_file.h"
#include "oci/store_index.h"
#include "seeds.h"
#include "snapshot/metadata.h"

#define EMPTY_SHA "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void refs(void)
{
    seed_str("ref", "short", "alpine");
    seed_str("ref", "tagged", "docker.io/library/alpine:3.20");
    seed_str("ref", "digest", "localhost:5000/a/b:t@" EMPTY_SHA);
    seed_str("ref", "ipv6", "[::1]:5000/x/y:z");
    seed_str("ref", "bare_digest", EMPTY_SHA);
}

static void registry(void)
{
    seed_str("registry", "bearer",
             "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
             "scope=\"repository:library/alpine:pull\"\n"
             "/v2/a/b/blobs/uploads/1234?_state=abc\n"
             "https://index.docker.io/v1/\n"
             "{\"token\":\"tok\",\"access_token\":\"acc\",\"expires_in\":300}");
    seed_str("registry", "basic",
             "Basic realm=\"Registry Realm\"\n"
             "https://other.example/upload/5678\n"
             "localhost:5000\n"
             "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"requested access to the "
             "resource is denied\",\"detail\":null}]}");
}

static void images_json(void)
{
    char path[4096];
    sm_store s = {.lock_fd = -1};
    snprintf(s.root, sizeof s.root, "%s", seed_scratch());
    sm_index_entry e = {.name = "docker.io/library/alpine:3.20", .manifest = EMPTY_SHA,
                        .index = EMPTY_SHA, .platform = "linux/amd64", .stored = 1700000000};
    sm_index_put(&s, &e);
    snprintf(e.name, sizeof e.name, "%s", EMPTY_SHA);
    e.index[0] = '\0';
    sm_index_put(&s, &e);
    snprintf(path, sizeof path, "%s/images.json", s.root);
    size_t len;
    uint8_t *text = seed_slurp(path, &len);
    seed("images_json", "two_images", text, len);
    free(text);
}

/* fuzz_cred_helper's input: the action, the exit status, how much of the
 * rest is stdout, then stdout and stderr. */
static void answer(const char *name, uint8_t action, uint8_t status, const char *out,
                   const char *err)
{
    uint8_t in[1024];
    size_t o = strlen(out), e = strlen(err);
    in[0] = action, in[1] = status, in[2] = (uint8_t)o, in[3] = (uint8_t)(o >> 8);
    memcpy(in + 4, out, o);
    memcpy(in + 4 + o, err, e);
    seed("cred_helper", name, in, 4 + o + e);
}

static void cred_helper(void)
{
    answer("get", 0, 0, "{\"ServerURL\":\"registry.example\",\"Username\":\"u\","
                        "\"Secret\":\"s\"}\n", "");
    answer("get_token", 0, 0, "{\"Username\":\"<token>\",\"Secret\":\"refresh\"}", "");
    answer("not_found", 0, 1, "credentials not found in native keychain\n", "");
    answer("store_fails", 1, 1, "", "error storing credentials: keyring locked\n");
    answer("erase_killed", 2, 0xf8, "", "");
}

static void machine_json(void)
{
    char path[4096];
    sm_machine_file f = {.memory_mib = 512, .vcpus = 2, .net_user = 1, .ndisks = 2,
                         .kernel_id = "sha256:k", .init_id = "sha256:i",
                         .restored_from = "/var/snap/1"};
    f.disks[0] = (sm_machine_file_disk){.read_only = 1, .size = 1 << 20, .mtime_ns = 1};
    snprintf(f.disks[0].path, sizeof f.disks[0].path, "/data/rootfs.ext4");
    f.disks[1] = (sm_machine_file_disk){.size = 4096, .mtime_ns = 1700000000123456789};
    snprintf(f.disks[1].path, sizeof f.disks[1].path, "/data/upper.ext4");
    snprintf(path, sizeof path, "%s/machine.json", seed_scratch());
    if (sm_machine_file_write(path, &f) != 0)
        abort();
    size_t len;
    uint8_t *text = seed_slurp(path, &len);
    seed("machine_json", "two_disks", text, len);
    free(text);
}

static void metadata_json(void)
{
    char path[4096];
    sm_snap_meta m = {.format_version = 1, .image_ref = "docker.io/library/alpine:3.20",
                      .manifest_digest = EMPTY_SHA, .kernel_id = "k", .init_id = "i",
                      .memory_mib = 256, .vcpus = 1, .created = 1700000000,
                      .fingerprint = "live:abc", .kind = "snapshot", .main_pid = 42,
                      .command = "sleep 100"};
    snprintf(path, sizeof path, "%s/metadata.json", seed_scratch());
    for (int diff = 0; diff < 2; diff++) {
        if (diff)
            snprintf(m.parent, sizeof m.parent, "/snapshots/base"), strcpy(m.kind, "diff");
        if (sm_snap_meta_write(path, &m) != 0)
            abort();
        size_t len;
        uint8_t *text = seed_slurp(path, &len);
        seed("metadata_json", diff ? "diff" : "full", text, len);
        free(text);
    }
}

void seeds_metadata(void)
{
    refs();
    registry();
    images_json();
    cred_helper();
    machine_json();
    metadata_json();
}
