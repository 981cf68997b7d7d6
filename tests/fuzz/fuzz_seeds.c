/*
 * Writes the fuzz harnesses' seed corpora: small valid inputs of every
 * kind, made where possible by the project's own writers (snapshot state,
 * metadata, machine.json, the image list, agent frames) so that a format
 * change shows up here. Run by hand after such a change:
 *   build/tests/fuzz/fuzz_seeds tests/fuzz/corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_fs.h"
#include "seeds.h"

static const char *out_dir;

void seed(const char *harness, const char *name, const void *data, size_t len)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", out_dir, harness);
    mkdir(dir, 0755);
    fuzz_put(dir, name, data, len);
}

void seed_str(const char *harness, const char *name, const char *text)
{
    seed(harness, name, text, strlen(text));
}

const char *seed_scratch(void)
{
    static const char *dir;
    if (!dir)
        dir = fuzz_scratch("seeds");
    return dir;
}

uint8_t *seed_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 20);
    if (!f || !buf)
        abort();
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    seeds_devices();
    seeds_p9_agent();
    seeds_images();
    seeds_metadata();
    return 0;
}
