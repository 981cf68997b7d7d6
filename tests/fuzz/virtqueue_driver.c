/*
 * Runs the virtqueue fuzz harness without libFuzzer (gcc and sanitizer
 * builds): seeded random rings, half of them shaped like real ones (a
 * valid size and placement, descriptors pointing into RAM), so that the
 * walker's deeper paths run too. A regression smoke test, not a fuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Queue of 16 at 0x1000 (desc), 0x2000 (avail), 0x3000 (used); random
 * descriptors whose addresses mostly land in RAM. */
static size_t shaped(uint8_t *in, uint64_t *s)
{
    memset(in, 0, 0x4008);
    in[0] = 16, in[2] = 0x10, in[3] = 0x20, in[4] = 0x00, in[5] = 0x03;
    uint8_t *ram = in + 8;
    for (int i = 0; i < 16; i++) {
        uint64_t addr = next(s) % 0x11000;
        uint32_t len = (uint32_t)(next(s) % 0x3000);
        uint16_t flags = (uint16_t)(next(s) & 7), nxt = (uint16_t)(next(s) % 20);
        memcpy(ram + 0x1000 + 16 * i, &addr, 8);
        memcpy(ram + 0x1000 + 16 * i + 8, &len, 4);
        memcpy(ram + 0x1000 + 16 * i + 12, &flags, 2);
        memcpy(ram + 0x1000 + 16 * i + 14, &nxt, 2);
    }
    uint16_t idx = (uint16_t)(next(s) % 40);
    memcpy(ram + 0x2002, &idx, 2);
    for (int i = 0; i < 16; i++) {
        uint16_t head = (uint16_t)(next(s) % 18);
        memcpy(ram + 0x2004 + 2 * i, &head, 2);
    }
    return 0x4008;
}

int main(void)
{
    static uint8_t in[0x4008];
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 20000; round++) {
        size_t len;
        if (round & 1) {
            len = shaped(in, &s);
        } else {
            len = 8 + next(&s) % (sizeof in - 8);
            for (size_t i = 0; i < len; i++)
                in[i] = (uint8_t)next(&s);
        }
        LLVMFuzzerTestOneInput(in, len);
    }
    printf("20000 rings walked\n");
    return 0;
}
