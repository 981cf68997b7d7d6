#include "vmm/x86_cpuid.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)

/* Bits needed to number `count` items (x2APIC id shift). */
static uint32_t id_bits(unsigned count)
{
    uint32_t bits = 0;
    while ((1u << bits) < count)
        bits++;
    return bits;
}

static void leaf1(sm_cpuid_entry *e, unsigned index, unsigned count)
{
    /* EBX: [31:24] initial APIC id, [23:16] logical processors per package,
     * [15:8] CLFLUSH line size in 8-byte units. */
    e->ebx = (index << 24) | ((count & 0xff) << 16) | (8 << 8);
    e->ecx |= CPUID_1_ECX_HYPERVISOR;
    if (count > 1)
        e->edx |= CPUID_1_EDX_HTT;
    else
        e->edx &= ~CPUID_1_EDX_HTT;
}

static void leaf4(sm_cpuid_entry *e, unsigned count)
{
    /* EAX[31:26]: cores per package - 1; [25:14]: threads sharing this
     * cache - 1. Each vCPU is its own core; leave the host's sharing out. */
    uint32_t cores = count > 64 ? 63 : count - 1;
    e->eax = (e->eax & 0x3fff) | (cores << 26);
}

static void topology_leaf(sm_cpuid_entry *e, unsigned index, unsigned count)
{
    /* Level 0: SMT, one thread per core. Level 1: cores of the package.
     * Higher levels: invalid. EDX is the x2APIC id at every level. */
    e->edx = index;
    if (e->index == 0) {
        e->eax = 0;
        e->ebx = 1;
        e->ecx = (1u << 8) | 0;
    } else if (e->index == 1) {
        e->eax = id_bits(count);
        e->ebx = count;
        e->ecx = (2u << 8) | 1;
    } else {
        e->eax = 0;
        e->ebx = 0;
        e->ecx = e->index;
    }
}

void sm_cpuid_for_vcpu(sm_cpuid_entry *e, size_t n, unsigned index, unsigned count)
{
    for (size_t i = 0; i < n; i++) {
        switch (e[i].function) {
        case 0x1:
            leaf1(&e[i], index, count);
            break;
        case 0x4:
            leaf4(&e[i], count);
            break;
        case 0xb:
        case 0x1f:
            topology_leaf(&e[i], index, count);
            break;
        default:
            break;
        }
    }
}
