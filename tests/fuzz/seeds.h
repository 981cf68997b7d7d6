/* fuzz_seeds: the seed corpora, made with the project's own writers. */
#ifndef SM_TESTS_FUZZ_SEEDS_H
#define SM_TESTS_FUZZ_SEEDS_H

#include <stddef.h>
#include <stdint.h>

/* Write corpus/<harness>/<name>; aborts on failure. */
void seed(const char *harness, const char *name, const void *data, size_t len);
void seed_str(const char *harness, const char *name, const char *text);

/* A scratch directory for writers that only write files (removed at exit). */
const char *seed_scratch(void);
/* A whole file read back (free it). */
uint8_t *seed_slurp(const char *path, size_t *len);

void seeds_devices(void);     /* virtqueue, blk, vsock, mmio, state_reader */
void seeds_p9_agent(void);    /* p9, agent_frame */
void seeds_images(void);      /* layer, import, manifest */
void seeds_metadata(void);    /* ref, registry, images_json, cred_helper, machine/metadata json */

#endif
