/* Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * learns its CPUs, its IOAPIC and how ISA interrupts are wired. */
#ifndef SM_VMM_X86_MPTABLE_H
#define SM_VMM_X86_MPTABLE_H

#include <stdint.h>

#include "memory/guest_mem.h"

/* In the BIOS area that Linux scans (0xF0000-0xFFFFF); 64 KiB is room for
 * every CPU the MP table can name. */
#define SM_MPTABLE_ADDR 0xF0000ull
#define SM_MPTABLE_MAX_CPUS 254
#define SM_IOAPIC_ADDR 0xFEC00000u
#define SM_LAPIC_ADDR 0xFEE00000u
#define SM_IOAPIC_PINS 24

int sm_mptable_write(const sm_gmem *mem, unsigned cpus);

#endif
