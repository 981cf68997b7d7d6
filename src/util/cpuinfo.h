/* The host CPU's feature flags, as /proc/cpuinfo lists them. */
#ifndef SM_UTIL_CPUINFO_H
#define SM_UTIL_CPUINFO_H

#include <stdbool.h>

/* Whether the first CPU's "flags" line holds `flag` as a whole word. */
bool sm_cpuinfo_has_flag(const char *flag);

#endif
