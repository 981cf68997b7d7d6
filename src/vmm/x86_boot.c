#include "vmm/x86_boot.h"

#include <string.h>

#include "util/error.h"
#include "vmm/vmlinux.h"
#include "vmm/x86_mptable.h"

/* Fixed low-memory layout, all below the kernel's 16 MiB load address. */
#define START_INFO_ADDR 0x6000ull
#define MODLIST_ADDR 0x6040ull
#define MEMMAP_ADDR 0x6080ull
#define CMDLINE_ADDR 0x20000ull
#define EBDA_START 0x9fc00ull
#define HIGH_MEM_START 0x100000ull
#define PAGE 4096ull

#define PVH_MAGIC 0x336ec578u
#define E820_RAM 1

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
    uint64_t addr, size;
    uint32_t type, reserved;
};

int sm_x86_boot_min_mib(const sm_x86_boot_input *in, uint64_t *mib)
{
    sm_vmlinux k;
    int err = sm_vmlinux_parse(in->kernel, in->kernel_len, in->kernel_name, &k);
    if (err)
        return err;
    uint64_t need = k.load_end + in->initrd_len + SM_X86_RUNTIME_HEADROOM;
    *mib = (need + (1 << 20) - 1) >> 20;
    return 0;
}

static unsigned write_memmap(const sm_gmem *mem, struct hvm_memmap_entry *e)
{
    unsigned n = 0;
    e[n++] = (struct hvm_memmap_entry){0, EBDA_START, E820_RAM, 0};
    e[n++] = (struct hvm_memmap_entry){HIGH_MEM_START,
                                       sm_gmem_low_end(mem) - HIGH_MEM_START, E820_RAM, 0};
    for (unsigned i = 1; i < mem->nregions; i++)
        e[n++] = (struct hvm_memmap_entry){mem->regions[i].gpa, mem->regions[i].size,
                                           E820_RAM, 0};
    return n;
}

/* The initramfs goes at the top of low RAM, above the kernel. */
static int place_initrd(const sm_gmem *mem, const sm_x86_boot_input *in,
                        uint64_t kernel_end, uint64_t *gpa)
{
    uint64_t top = sm_gmem_low_end(mem);
    uint64_t start = top > in->initrd_len ? (top - in->initrd_len) & ~(PAGE - 1) : 0;
    if (start < kernel_end || !sm_gmem_write(mem, start, in->initrd, in->initrd_len))
        return sm_fail(ENOMEM, "the initramfs (%zu KiB) does not fit in guest memory "
                       "above the kernel; give the VM more memory", in->initrd_len >> 10);
    *gpa = start;
    return 0;
}

static int write_start_info(const sm_gmem *mem, const sm_x86_boot_input *in,
                            uint64_t initrd_gpa)
{
    size_t cl = strlen(in->cmdline);
    if (cl >= SM_X86_CMDLINE_MAX)
        return sm_fail(E2BIG, "kernel command line is %zu bytes; Linux takes at most %d",
                       cl, SM_X86_CMDLINE_MAX - 1);
    struct hvm_memmap_entry map[SM_GMEM_MAX_REGIONS + 1];
    unsigned nmap = write_memmap(mem, map);
    struct hvm_modlist_entry mod = {.paddr = initrd_gpa, .size = in->initrd_len};
    struct hvm_start_info si = {
        .magic = PVH_MAGIC, .version = 1,
        .nr_modules = in->initrd_len ? 1 : 0,
        .modlist_paddr = in->initrd_len ? MODLIST_ADDR : 0,
        .cmdline_paddr = CMDLINE_ADDR,
        .memmap_paddr = MEMMAP_ADDR, .memmap_entries = nmap,
    };
    if (!sm_gmem_write(mem, CMDLINE_ADDR, in->cmdline, cl + 1) ||
        !sm_gmem_write(mem, MEMMAP_ADDR, map, nmap * sizeof map[0]) ||
        !sm_gmem_write(mem, MODLIST_ADDR, &mod, sizeof mod) ||
        !sm_gmem_write(mem, START_INFO_ADDR, &si, sizeof si))
        return sm_fail(ENOMEM, "guest memory too small for the boot information");
    return 0;
}

int sm_x86_boot_load(const sm_gmem *mem, const sm_x86_boot_input *in,
                     sm_x86_boot_entry *out)
{
    sm_vmlinux k;
    int err = sm_vmlinux_parse(in->kernel, in->kernel_len, in->kernel_name, &k);
    if (!err)
        err = sm_vmlinux_load(&k, in->kernel, mem);
    uint64_t initrd_gpa = 0;
    if (!err && in->initrd_len)
        err = place_initrd(mem, in, k.load_end, &initrd_gpa);
    if (!err)
        err = write_start_info(mem, in, initrd_gpa);
    if (!err)
        err = sm_mptable_write(mem, in->cpus);
    if (err)
        return err;
    out->rip = k.pvh_entry;
    out->start_info = START_INFO_ADDR;
    return 0;
}
