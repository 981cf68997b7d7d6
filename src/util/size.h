/* Sizes as people write them in settings: "64g", "512m", "100k", "1t",
 * optionally followed by "b" or "ib" ("64GiB"), or plain bytes. */
#ifndef SM_UTIL_SIZE_H
#define SM_UTIL_SIZE_H

#include <stdint.h>

/* The bytes `s` stands for (units are powers of 1024); 0 when it is not a
 * size, is negative or does not fit 64 bits. */
uint64_t sm_parse_size(const char *s);

#endif
