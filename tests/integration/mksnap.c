/* Makes a committed snapshot directory with the real writers, for the dedup
 * tests: mksnap DIR NAME MIB DIGEST VARIANT DIFFER_EVERY
 * (and `mksnap --dedup-new DIR SNAPSHOT` runs what a bake runs after it,
 * printing the stats).
 *
 * Page i of the memory file is
 *   a hole                            when i % 7 == 3 (in every variant),
 *   a hole                            when VARIANT is odd and i % 13 == 6,
 *   random bytes of (VARIANT, i)      when i % DIFFER_EVERY == 5,
 *   random bytes of i                 otherwise (the same in every variant),
 * so two variants share most pages, differ in some, and one has holes
 * where the other has data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/dedup.h"
#include "snapshot/metadata.h"
#include "snapshot/snap_dir.h"
#include "persist/state_file.h"
#include "supermachine.h"

#define PAGE 4096u

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill(uint8_t *page, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t o = 0; o < PAGE; o += 8) {
        uint64_t v = splitmix(&s);
        memcpy(page + o, &v, 8);
    }
}

static void make_ram(uint8_t *ram, size_t pages, unsigned variant, unsigned every)
{
    for (size_t i = 0; i < pages; i++) {
        uint8_t *p = ram + i * PAGE;
        if (i % 7 == 3 || (variant % 2 && i % 13 == 6))
            continue;   /* calloc'd: stays zero, written as a hole */
        if (i % every == 5)
            fill(p, ((uint64_t)(variant + 1) << 40) ^ i);
        else
            fill(p, i);
    }
}

static int die(const char *what)
{
    fprintf(stderr, "mksnap: %s: %s\n", what, sm_last_error());
    return 1;
}

static int write_files(const sm_snap_dir_tx *tx, const char *name, uint8_t *ram, size_t len,
                       const char *digest, unsigned mib, unsigned variant)
{
    char path[4200];
    sm_snap_writer *w;
    static const uint8_t regs[16] = {1};
    if (sm_snap_dir_file(tx, SM_SNAP_MEMORY_FILE, path, sizeof path) < 0 ||
        sm_snap_memory_write(path, ram, len, NULL) < 0)
        return die("memory");
    if (sm_snap_dir_file(tx, SM_SNAP_STATE_FILE, path, sizeof path) < 0 ||
        sm_snap_writer_begin(&w) < 0 ||
        sm_snap_writer_add_section(w, SM_SNAP_VCPU_REGS, 0, 0, regs, sizeof regs) < 0 ||
        sm_snap_writer_finish_file(w, path) < 0)
        return die("state");
    sm_snap_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.image_ref, sizeof m.image_ref, "docker.io/library/test:dedup");
    snprintf(m.manifest_digest, sizeof m.manifest_digest, "%s", digest);
    snprintf(m.kernel_id, sizeof m.kernel_id, "kernel-test");
    snprintf(m.init_id, sizeof m.init_id, "init-test");
    snprintf(m.fingerprint, sizeof m.fingerprint, "%s", name);
    m.memory_mib = mib;
    m.vcpus = 1;
    m.created = 1700000000 + variant;   /* variant 0 is the oldest */
    if (sm_snap_dir_file(tx, SM_SNAP_META_FILE, path, sizeof path) < 0 ||
        sm_snap_meta_write(path, &m) < 0)
        return die("metadata");
    return 0;
}

static int dedup_new(const char *dir, const char *snapshot)
{
    sm_snap_dedup_stats st = {0};
    if (sm_snap_dedup_new(dir, snapshot, &st) < 0)
        return die("dedup");
    printf("unsupported=%d files=%llu compared=%llu shared=%llu fs=%s\n", st.unsupported,
           (unsigned long long)st.files, (unsigned long long)st.bytes_compared,
           (unsigned long long)st.bytes_shared, st.unsupported ? st.fs_name : "-");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--dedup-new"))
        return dedup_new(argv[2], argv[3]);
    if (argc != 7) {
        fprintf(stderr, "usage: mksnap DIR NAME MIB DIGEST VARIANT DIFFER_EVERY\n");
        return 2;
    }
    unsigned mib = (unsigned)atoi(argv[3]), variant = (unsigned)atoi(argv[5]);
    unsigned every = (unsigned)atoi(argv[6]);
    size_t len = (size_t)mib << 20;
    uint8_t *ram = calloc(1, len);
    if (!mib || every < 6 || !ram) {
        fprintf(stderr, "mksnap: bad size or DIFFER_EVERY (< 6), or out of memory\n");
        return 2;
    }
    make_ram(ram, len / PAGE, variant, every);
    char final[4096];
    snprintf(final, sizeof final, "%s/%s", argv[1], argv[2]);
    sm_snap_dir_tx tx;
    if (sm_snap_dir_begin(final, &tx) < 0)
        return die("begin");
    if (write_files(&tx, argv[2], ram, len, argv[4], mib, variant) != 0) {
        sm_snap_dir_abort(&tx);
        return 1;
    }
    free(ram);
    return sm_snap_dir_commit(&tx) < 0 ? die("commit") : 0;
}
