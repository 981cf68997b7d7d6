/* The host CPU as /proc/cpuinfo describes it: its feature flags, and
 * what names the CPU a snapshot's guest was made on. */
#ifndef SM_UTIL_CPUINFO_H
#define SM_UTIL_CPUINFO_H

#include <stdbool.h>
#include <stddef.h>

/* Whether the first CPU's "flags" line holds `flag` as a whole word. */
bool sm_cpuinfo_has_flag(const char *flag);

/* The first CPU's vendor, family, model, stepping and flags, one line
 * each, from `path` (NULL: /proc/cpuinfo): what a guest's CPUID and saved
 * FPU/XSAVE state depend on, and nothing that changes while the host
 * runs (MHz, core and APIC ids, bogomips). Returns 0, or -errno when the
 * file cannot be read or has none of them. */
int sm_cpuinfo_identity(const char *path, char *out, size_t len);

#endif
