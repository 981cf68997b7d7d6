/* The snapshot `state` file: a checksummed header and typed, length-prefixed
 * sections (docs/snapshot.md has the byte layout). This layer knows nothing
 * of KVM or devices: a section's payload is opaque bytes here. */
#ifndef SM_PERSIST_STATE_FILE_H
#define SM_PERSIST_STATE_FILE_H

#include <stddef.h>
#include <stdint.h>

/* One number for the whole snapshot format (state and metadata.json): any
 * change to either bumps it, and a snapshot of another version is baked
 * again rather than converted. */
#define SM_SNAP_FORMAT_VERSION 1u

#define SM_SNAP_MAGIC "SMSNAP\0\0"
#define SM_SNAP_HEADER_SIZE 64u
#define SM_SNAP_SECTION_HEADER_SIZE 16u
/* A state file is a few hundred KiB at most; anything far larger is not one. */
#define SM_SNAP_MAX_STATE_SIZE (64u << 20)

/* Section flags. A reader that does not know a section's type skips it when
 * it is optional and refuses the file otherwise. */
#define SM_SNAP_SECTION_OPTIONAL 0x0001u
#define SM_SNAP_SECTION_FLAGS_KNOWN SM_SNAP_SECTION_OPTIONAL

/* Section types. The index of a per-vCPU section is the vCPU number; of a
 * device section, the device's slot on the MMIO bus. */
enum sm_snap_section_type {
    SM_SNAP_VCPU_REGS = 0x0101,      /* struct kvm_regs */
    SM_SNAP_VCPU_SREGS = 0x0102,     /* struct kvm_sregs */
    SM_SNAP_VCPU_FPU = 0x0103,       /* struct kvm_fpu */
    SM_SNAP_VCPU_XSAVE = 0x0104,     /* struct kvm_xsave (or xsave2 bytes) */
    SM_SNAP_VCPU_XCRS = 0x0105,      /* struct kvm_xcrs */
    SM_SNAP_VCPU_MSRS = 0x0106,      /* u32 count, u32 0, then {u32 index, u32 0, u64 value} */
    SM_SNAP_VCPU_LAPIC = 0x0107,     /* struct kvm_lapic_state */
    SM_SNAP_VCPU_EVENTS = 0x0108,    /* struct kvm_vcpu_events */
    SM_SNAP_VCPU_DEBUGREGS = 0x0109, /* struct kvm_debugregs */
    SM_SNAP_VCPU_MP_STATE = 0x010a,  /* struct kvm_mp_state */
    SM_SNAP_VCPU_CPUID = 0x010b,     /* u32 count, u32 0, then struct kvm_cpuid_entry2 */
    SM_SNAP_VM_PIC = 0x0201,         /* struct kvm_irqchip; index 0 master, 1 slave */
    SM_SNAP_VM_IOAPIC = 0x0202,      /* struct kvm_irqchip (KVM_IRQCHIP_IOAPIC) */
    SM_SNAP_VM_PIT = 0x0203,         /* struct kvm_pit_state2 */
    SM_SNAP_VM_CLOCK = 0x0204,       /* struct kvm_clock_data */
    SM_SNAP_DEVICE = 0x0301,         /* docs/snapshot.md "Device sections" */
    SM_SNAP_SERIAL = 0x0302,         /* 16550 registers and FIFO; index 0 COM1, 1 COM2 */
    SM_SNAP_MACHINE = 0x0001,        /* u32 vCPUs, u32 devices, u64 memory bytes */
    SM_SNAP_MEMORY_RUNS = 0x0401,    /* diff snapshot: u64 count, then {u64 offset, u64 len} */
};

/* True for the types this version of the format defines. */
int sm_snap_section_type_known(uint32_t type);

typedef struct sm_snap_writer sm_snap_writer;

int sm_snap_writer_begin(sm_snap_writer **out);
/* Copies `len` bytes of `data`. A (type, index) pair may appear once. */
int sm_snap_writer_add_section(sm_snap_writer *w, uint32_t type, uint16_t index,
                               uint16_t flags, const void *data, size_t len);
/* Both finish calls free the writer, whether they succeed or not. The blob
 * from finish_mem is the caller's to free(). */
int sm_snap_writer_finish_mem(sm_snap_writer *w, uint8_t **blob, size_t *len);
/* Writes `path` through a temporary file in its directory, fsync and
 * rename, so `path` is either absent, the old file or the complete new one. */
int sm_snap_writer_finish_file(sm_snap_writer *w, const char *path);
/* The same into an empty file already open (see sm_snap_memory_write_fd),
 * fsynced; the descriptor stays open. */
int sm_snap_writer_finish_fd(sm_snap_writer *w, int fd, const char *name);
void sm_snap_writer_abort(sm_snap_writer *w);

typedef struct sm_snap_section {
    uint32_t type;
    uint16_t index;
    uint16_t flags;
    const uint8_t *data; /* points into the reader; valid until it is closed */
    uint64_t len;
} sm_snap_section;

typedef struct sm_snap_reader sm_snap_reader;

/* Reads and validates the whole file: magic, version, length, checksum and
 * every section's bounds. Sections of unknown optional types are dropped. */
int sm_snap_reader_open(const char *path, sm_snap_reader **out);
/* The same over a blob in memory, which is copied. */
int sm_snap_reader_open_mem(const void *data, size_t len, sm_snap_reader **out);
size_t sm_snap_reader_count(const sm_snap_reader *r);
const sm_snap_section *sm_snap_reader_at(const sm_snap_reader *r, size_t i);
/* NULL when absent; use sm_snap_reader_need for a section restore cannot do
 * without, which returns -ENOENT with a sentence. */
const sm_snap_section *sm_snap_reader_find(const sm_snap_reader *r, uint32_t type,
                                           uint16_t index);
int sm_snap_reader_need(const sm_snap_reader *r, uint32_t type, uint16_t index,
                        const sm_snap_section **out);
void sm_snap_reader_close(sm_snap_reader *r);

#endif
