#include "vmm/x86_mptable.h"

#include <string.h>

#include "util/error.h"

struct __attribute__((packed)) mpf {
    char signature[4];
    uint32_t physptr;
    uint8_t length;     /* in 16-byte units */
    uint8_t specrev;
    uint8_t checksum;
    uint8_t feature[5];
};

struct __attribute__((packed)) mpc_header {
    char signature[4];
    uint16_t length;
    uint8_t specrev;
    uint8_t checksum;
    char oem[8];
    char product[12];
    uint32_t oemptr;
    uint16_t oemsize;
    uint16_t count;
    uint32_t lapic;
    uint16_t ext_length;
    uint8_t ext_checksum;
    uint8_t reserved;
};

struct __attribute__((packed)) mpc_cpu {
    uint8_t type, apicid, apicver, cpuflag;
    uint32_t cpufeature, featureflag, reserved[2];
};

struct __attribute__((packed)) mpc_bus {
    uint8_t type, busid;
    char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
    uint8_t type, apicid, apicver, flags;
    uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
    uint8_t type, irqtype;
    uint16_t irqflag;
    uint8_t srcbus, srcbusirq, dstapic, dstirq;
};

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };
#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define LOCAL_APIC_ALL 0xff

static uint8_t checksum(const void *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum += ((const uint8_t *)p)[i];
    return (uint8_t)-sum;
}

/* Entries go after the header; returns the number of entries written. */
static uint16_t write_entries(uint8_t **pp, unsigned cpus)
{
    uint8_t *p = *pp;
    uint16_t n = 0;
    for (unsigned i = 0; i < cpus; i++, n++) {
        struct mpc_cpu c = {
            .type = MP_PROCESSOR, .apicid = (uint8_t)i, .apicver = APIC_VERSION,
            .cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
            .cpufeature = 0x600, .featureflag = 0x201 /* FPU | APIC */};
        memcpy(p, &c, sizeof c);
        p += sizeof c;
    }
    struct mpc_bus bus = {.type = MP_BUS, .busid = 0, .bustype = "ISA   "};
    memcpy(p, &bus, sizeof bus);
    p += sizeof bus, n++;
    uint8_t ioapic_id = (uint8_t)cpus;
    struct mpc_ioapic io = {.type = MP_IOAPIC, .apicid = ioapic_id,
                            .apicver = IOAPIC_VERSION, .flags = 1,
                            .apicaddr = SM_IOAPIC_ADDR};
    memcpy(p, &io, sizeof io);
    p += sizeof io, n++;
    /* Line i arrives on IOAPIC pin i (KVM's default routing), for every
     * pin: virtio-mmio devices use the lines above the legacy ones. */
    for (uint8_t irq = 0; irq < SM_IOAPIC_PINS; irq++, n++) {
        struct mpc_intsrc s = {.type = MP_INTSRC, .irqtype = MP_INT, .srcbus = 0,
                               .srcbusirq = irq, .dstapic = ioapic_id, .dstirq = irq};
        memcpy(p, &s, sizeof s);
        p += sizeof s;
    }
    struct mpc_intsrc lint[2] = {
        {.type = MP_LINTSRC, .irqtype = MP_EXTINT, .dstapic = 0, .dstirq = 0},
        {.type = MP_LINTSRC, .irqtype = MP_NMI, .dstapic = LOCAL_APIC_ALL, .dstirq = 1},
    };
    memcpy(p, lint, sizeof lint);
    p += sizeof lint, n += 2;
    *pp = p;
    return n;
}

int sm_mptable_write(const sm_gmem *mem, unsigned cpus)
{
    if (cpus == 0 || cpus > SM_MPTABLE_MAX_CPUS)
        return sm_fail(EINVAL, "%u vCPUs: the MP table can describe 1 to %u",
                       cpus, SM_MPTABLE_MAX_CPUS);
    size_t max = sizeof(struct mpf) + sizeof(struct mpc_header) +
                 cpus * sizeof(struct mpc_cpu) + 1024;
    uint8_t *base = sm_gmem_ptr(mem, SM_MPTABLE_ADDR, max);
    if (!base)
        return sm_fail(ENOMEM, "guest memory too small for the MP table");
    memset(base, 0, max);
    struct mpf *f = (struct mpf *)base;
    struct mpc_header *h = (struct mpc_header *)(base + sizeof *f);
    uint8_t *p = (uint8_t *)(h + 1);
    uint16_t count = write_entries(&p, cpus);

    memcpy(h->signature, "PCMP", 4);
    h->length = (uint16_t)(p - (uint8_t *)h);
    h->specrev = 4;
    memcpy(h->oem, "SUPERMCH", 8);
    memcpy(h->product, "MICROVM     ", 12);
    h->count = count;
    h->lapic = SM_LAPIC_ADDR;
    h->checksum = checksum(h, h->length);

    memcpy(f->signature, "_MP_", 4);
    f->physptr = (uint32_t)(SM_MPTABLE_ADDR + sizeof *f);
    f->length = 1;
    f->specrev = 4;
    f->checksum = checksum(f, sizeof *f);
    return 0;
}
