/* The CPUID a guest vCPU sees: the host's supported set, given a topology. */
#ifndef SM_VMM_X86_CPUID_H
#define SM_VMM_X86_CPUID_H

#include <stddef.h>
#include <stdint.h>

typedef struct sm_cpuid_entry {
    uint32_t function, index, flags;
    uint32_t eax, ebx, ecx, edx;
} sm_cpuid_entry;

/* Rewrite a supported-CPUID table in place for vCPU `index` of `count`:
 * APIC ids, logical processor counts, extended topology and the hypervisor
 * bit, so that the guest sees `count` single-threaded cores in one package. */
void sm_cpuid_for_vcpu(sm_cpuid_entry *e, size_t n, unsigned index, unsigned count);

#endif
