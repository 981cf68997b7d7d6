/* The one monotonic clock the project times things with. */
#ifndef SM_UTIL_CLOCK_H
#define SM_UTIL_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t sm_now_ns(void);

#endif
