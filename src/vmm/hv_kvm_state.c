/* KVM state to and from snapshot sections. Payloads are the kernel's UAPI
 * structures byte for byte; a section read back is as untrusted as any
 * file, so its length is checked against the structure (or the count it
 * carries) before KVM sees it. */
#include "vmm/hv_kvm_int.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "persist/state_file.h"
#include "util/error.h"
#include "vmm/host_quirks.h"

/* KVM itself allows 256 CPUID entries; MSR lists are a few hundred. These
 * bound what a damaged section can make us hand to the kernel. */
#define MAX_CPUID_ENTRIES 4096u
#define MAX_MSRS 16384u
/* The header before the entries of kvm_cpuid2 and kvm_msrs: u32 count, u32 pad. */
#define LIST_HEADER 8u

typedef struct fixed {
    uint32_t type;
    unsigned long get, set;
    size_t size;
    const char *name;
} fixed;

static const fixed MP_STATE = {SM_SNAP_VCPU_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
                               sizeof(struct kvm_mp_state), "MP state"};
static const fixed SREGS = {SM_SNAP_VCPU_SREGS, KVM_GET_SREGS, KVM_SET_SREGS,
                            sizeof(struct kvm_sregs), "special registers"};
static const fixed REGS = {SM_SNAP_VCPU_REGS, KVM_GET_REGS, KVM_SET_REGS,
                           sizeof(struct kvm_regs), "registers"};
static const fixed FPU = {SM_SNAP_VCPU_FPU, KVM_GET_FPU, KVM_SET_FPU,
                          sizeof(struct kvm_fpu), "FPU state"};
static const fixed XCRS = {SM_SNAP_VCPU_XCRS, KVM_GET_XCRS, KVM_SET_XCRS,
                           sizeof(struct kvm_xcrs), "extended control registers"};
static const fixed LAPIC = {SM_SNAP_VCPU_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC,
                            sizeof(struct kvm_lapic_state), "local APIC"};
static const fixed EVENTS = {SM_SNAP_VCPU_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
                             sizeof(struct kvm_vcpu_events), "pending events"};
static const fixed DEBUGREGS = {SM_SNAP_VCPU_DEBUGREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
                                sizeof(struct kvm_debugregs), "debug registers"};
static const fixed PIT = {SM_SNAP_VM_PIT, KVM_GET_PIT2, KVM_SET_PIT2,
                          sizeof(struct kvm_pit_state2), "PIT"};

/* Large enough for every fixed structure above. */
typedef union fixed_buf {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_fpu fpu;
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events events;
    struct kvm_debugregs debugregs;
    struct kvm_mp_state mp;
    struct kvm_pit_state2 pit;
    struct kvm_irqchip chip;
    struct kvm_clock_data clock;
} fixed_buf;

static int has_cap(sm_hv *hv, int cap)
{
    return ioctl(hv->vm_fd, KVM_CHECK_EXTENSION, cap);
}

static int get_ioctl(int fd, unsigned long req, void *buf, const char *what, uint16_t index)
{
    if (ioctl(fd, req, buf) < 0)
        return sm_fail(errno, "cannot read the %s (index %u) from KVM: %s", what, index,
                       strerror(errno));
    return 0;
}

static int set_ioctl(int fd, unsigned long req, const void *buf, const char *what,
                     uint16_t index)
{
    if (ioctl(fd, req, buf) < 0)
        return sm_fail(errno, "KVM refused the saved %s (index %u): %s; the snapshot does "
                       "not fit this machine, bake it again", what, index, strerror(errno));
    return 0;
}

static int save_fixed(int fd, const fixed *f, sm_snap_writer *w, uint16_t index)
{
    fixed_buf b;
    memset(&b, 0, sizeof b);
    int rc = get_ioctl(fd, f->get, &b, f->name, index);
    return rc < 0 ? rc : sm_snap_writer_add_section(w, f->type, index, 0, &b, f->size);
}

static int wrong_length(const sm_snap_section *s, const char *what, size_t want)
{
    return sm_fail(EPROTO, "snapshot section %s (0x%x, index %u) is %llu bytes, expected "
                   "%zu: the snapshot is damaged or from another version; bake it again",
                   what, s->type, s->index, (unsigned long long)s->len, want);
}

/* The section (type, index), required, exactly `size` bytes long. */
static int need_exact(const sm_snap_reader *r, uint32_t type, uint16_t index, size_t size,
                      const char *what, const sm_snap_section **out)
{
    int rc = sm_snap_reader_need(r, type, index, out);
    if (rc < 0)
        return rc;
    return (*out)->len == size ? 0 : wrong_length(*out, what, size);
}

/* Copied out so the kernel never reads past what the section holds. */
static int restore_fixed(int fd, const fixed *f, const sm_snap_reader *r, uint16_t index)
{
    const sm_snap_section *s;
    int rc = need_exact(r, f->type, index, f->size, f->name, &s);
    if (rc < 0)
        return rc;
    fixed_buf b;
    memcpy(&b, s->data, f->size);
    return set_ioctl(fd, f->set, &b, f->name, index);
}

/* A section holding a u32 count, a u32 pad and count entries of `entry`
 * bytes: the count is checked against the length and `max`. */
static int need_list(const sm_snap_reader *r, uint32_t type, uint16_t index, size_t entry,
                     uint32_t max, const char *what, const sm_snap_section **out)
{
    int rc = sm_snap_reader_need(r, type, index, out);
    if (rc < 0)
        return rc;
    const sm_snap_section *s = *out;
    uint32_t count = 0;
    if (s->len >= LIST_HEADER)
        memcpy(&count, s->data, sizeof count);
    if (s->len < LIST_HEADER || count > max)
        return sm_fail(EPROTO, "snapshot section %s (0x%x, index %u) is damaged (%llu "
                       "bytes, %u entries); bake the snapshot again", what, s->type,
                       s->index, (unsigned long long)s->len, count);
    size_t want = LIST_HEADER + (size_t)count * entry;
    return s->len == want ? 0 : wrong_length(s, what, want);
}

static int save_cpuid(int fd, sm_snap_writer *w, uint16_t index)
{
    for (uint32_t n = 64; n <= MAX_CPUID_ENTRIES; n *= 2) {
        size_t size = sizeof(struct kvm_cpuid2) + n * sizeof(struct kvm_cpuid_entry2);
        struct kvm_cpuid2 *c = calloc(1, size);
        if (!c)
            return sm_fail(ENOMEM, "out of memory saving CPUID");
        c->nent = n;
        int rc = 0;
        if (ioctl(fd, KVM_GET_CPUID2, c) == 0)
            rc = sm_snap_writer_add_section(w, SM_SNAP_VCPU_CPUID, index, 0, c,
                    sizeof *c + c->nent * sizeof c->entries[0]);
        else if (errno != E2BIG)
            rc = sm_fail(errno, "cannot read the CPUID of vCPU %u: %s", index, strerror(errno));
        else
            rc = 1;
        free(c);
        if (rc <= 0)
            return rc;
    }
    return sm_fail(E2BIG, "vCPU %u has an implausibly large CPUID table", index);
}

static int restore_cpuid(int fd, const sm_snap_reader *r, uint16_t index)
{
    const sm_snap_section *s;
    int rc = need_list(r, SM_SNAP_VCPU_CPUID, index, sizeof(struct kvm_cpuid_entry2),
                       MAX_CPUID_ENTRIES, "CPUID", &s);
    if (rc < 0)
        return rc;
    void *c = malloc(s->len);
    if (!c)
        return sm_fail(ENOMEM, "out of memory restoring CPUID");
    memcpy(c, s->data, s->len);
    rc = set_ioctl(fd, KVM_SET_CPUID2, c, "CPUID", index);
    free(c);
    return rc;
}

/* Bytes of XSAVE state KVM exchanges: more than struct kvm_xsave when the
 * host has large components (AMX); 0 without XSAVE (then it is KVM_*_FPU). */
static size_t xsave_size(sm_hv *hv)
{
    int big = has_cap(hv, KVM_CAP_XSAVE2);
    if (big > (int)sizeof(struct kvm_xsave))
        return (size_t)big;
    return has_cap(hv, KVM_CAP_XSAVE) > 0 ? sizeof(struct kvm_xsave) : 0;
}

static int save_fpu(sm_hv *hv, int fd, sm_snap_writer *w, uint16_t index)
{
    size_t size = xsave_size(hv);
    if (!size)
        return save_fixed(fd, &FPU, w, index);
    void *x = calloc(1, size);
    if (!x)
        return sm_fail(ENOMEM, "out of memory saving XSAVE state");
    unsigned long req = size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
    int rc = get_ioctl(fd, req, x, "XSAVE state", index);
    if (rc == 0)
        rc = sm_snap_writer_add_section(w, SM_SNAP_VCPU_XSAVE, index, 0, x, size);
    free(x);
    return rc;
}

/* A snapshot holds whichever of the two its host used. */
static int restore_fpu(sm_hv *hv, int fd, const sm_snap_reader *r, uint16_t index)
{
    if (sm_snap_reader_find(r, SM_SNAP_VCPU_FPU, index))
        return restore_fixed(fd, &FPU, r, index);
    size_t size = xsave_size(hv);
    if (!size && sm_snap_reader_find(r, SM_SNAP_VCPU_XSAVE, index))
        return sm_fail(ENOTSUP, "the snapshot holds XSAVE state but this KVM has no "
                       "XSAVE support; bake the snapshot on this machine");
    const sm_snap_section *s;
    int rc = need_exact(r, SM_SNAP_VCPU_XSAVE, index, size, "XSAVE state", &s);
    if (rc < 0)
        return rc;
    void *x = malloc(size);
    if (!x)
        return sm_fail(ENOMEM, "out of memory restoring XSAVE state");
    memcpy(x, s->data, size);
    rc = set_ioctl(fd, KVM_SET_XSAVE, x, "XSAVE state", index);
    free(x);
    return rc;
}

static int restore_xcrs(sm_hv *hv, int fd, const sm_snap_reader *r, uint16_t index)
{
    if (!sm_snap_reader_find(r, SM_SNAP_VCPU_XCRS, index))
        return 0;  /* saved where KVM had none */
    if (has_cap(hv, KVM_CAP_XCRS) <= 0)
        return sm_fail(ENOTSUP, "the snapshot holds XCRs but this KVM cannot set them; "
                       "bake the snapshot on this machine");
    return restore_fixed(fd, &XCRS, r, index);
}

static int msr_index_list(sm_hv *hv, struct kvm_msr_list **out)
{
    struct kvm_msr_list probe = {.nmsrs = 0};
    int kvm = hv->kvm_fd;
    if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
        return sm_fail(errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
    if (probe.nmsrs > MAX_MSRS)
        return sm_fail(E2BIG, "KVM lists an implausible %u MSRs", probe.nmsrs);
    struct kvm_msr_list *l = calloc(1, sizeof *l + probe.nmsrs * sizeof l->indices[0]);
    if (!l)
        return sm_fail(ENOMEM, "out of memory listing MSRs");
    l->nmsrs = probe.nmsrs;
    if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, l) < 0) {
        free(l);
        return sm_fail(errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
    }
    *out = l;
    return 0;
}

/* KVM_GET_MSRS stops at the first MSR this vCPU cannot read (its CPUID
 * lacks the feature): drop that one and go on from the next. */
static int read_msrs(int fd, struct kvm_msrs *m, uint16_t index)
{
    uint32_t total = m->nmsrs, done = 0;
    struct kvm_msr_entry *e = m->entries;
    while (done < total) {
        struct kvm_msrs *part = (struct kvm_msrs *)((uint8_t *)(e + done) - sizeof *m);
        struct kvm_msrs saved = *part;  /* the header overlays the previous entry */
        part->nmsrs = total - done;
        part->pad = 0;
        int got = ioctl(fd, KVM_GET_MSRS, part);
        *part = saved;
        if (got < 0)
            return sm_fail(errno, "cannot read the MSRs of vCPU %u: %s", index, strerror(errno));
        done += (uint32_t)got;
        if (done < total) {
            memmove(e + done, e + done + 1, (total - done - 1) * sizeof *e);
            total--;
        }
    }
    m->nmsrs = total;
    return 0;
}

static int save_msrs(sm_hv *hv, int fd, sm_snap_writer *w, uint16_t index)
{
    struct kvm_msr_list *l = NULL;
    int rc = msr_index_list(hv, &l);
    if (rc < 0)
        return rc;
    struct kvm_msrs *m = calloc(1, sizeof *m + l->nmsrs * sizeof m->entries[0]);
    if (!m) {
        free(l);
        return sm_fail(ENOMEM, "out of memory saving MSRs");
    }
    m->nmsrs = l->nmsrs;
    for (uint32_t i = 0; i < l->nmsrs; i++)
        m->entries[i].index = l->indices[i];
    free(l);
    rc = read_msrs(fd, m, index);
    if (rc == 0)
        rc = sm_snap_writer_add_section(w, SM_SNAP_VCPU_MSRS, index, 0, m,
                                        sizeof *m + m->nmsrs * sizeof m->entries[0]);
    free(m);
    return rc;
}

#define MSR_IA32_TSC 0x10

/* On real KVM the saved TSC is set back, so a guest clocked by its TSC
 * (Linux prefers an invariant TSC to kvm-clock) carries on where it was.
 * The PVM host runs guest user mode natively, where RDTSC reads the host's
 * counter whatever offset KVM keeps for the guest kernel: a restored TSC
 * splits the guest's clock in two (vDSO time stands still, sleeps never
 * end). There the guest keeps the host's TSC, and its clocks jump forward
 * by the time since the snapshot, as after a suspend. */
static void drop_msr(struct kvm_msrs *m, uint32_t index)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < m->nmsrs; i++)
        if (m->entries[i].index != index)
            m->entries[j++] = m->entries[i];
    m->nmsrs = j;
}

static int restore_msrs(int fd, const sm_snap_reader *r, uint16_t index)
{
    const sm_snap_section *s;
    int rc = need_list(r, SM_SNAP_VCPU_MSRS, index, sizeof(struct kvm_msr_entry), MAX_MSRS,
                       "MSRs", &s);
    if (rc < 0)
        return rc;
    struct kvm_msrs *m = malloc(s->len);
    if (!m)
        return sm_fail(ENOMEM, "out of memory restoring MSRs");
    memcpy(m, s->data, s->len);
    if (sm_host_is_pvm())
        drop_msr(m, MSR_IA32_TSC);
    int set = ioctl(fd, KVM_SET_MSRS, m);
    if (set < 0)
        rc = sm_fail(errno, "cannot restore the MSRs of vCPU %u: %s", index, strerror(errno));
    else if ((uint32_t)set < m->nmsrs)
        rc = sm_fail(EINVAL, "KVM refused saved MSR %#x (value %#llx) of vCPU %u; the "
                     "snapshot does not fit this machine, bake it again",
                     m->entries[set].index, (unsigned long long)m->entries[set].data, index);
    free(m);
    return rc;
}

/* KVM_GET_VCPU_EVENTS leaves out the flags that make KVM_SET_VCPU_EVENTS
 * take the pending NMI and SIPI vector; without them those would be lost. */
static int save_events(int fd, sm_snap_writer *w, uint16_t index)
{
    struct kvm_vcpu_events e;
    memset(&e, 0, sizeof e);
    int rc = get_ioctl(fd, KVM_GET_VCPU_EVENTS, &e, EVENTS.name, index);
    if (rc < 0)
        return rc;
    e.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    return sm_snap_writer_add_section(w, EVENTS.type, index, 0, &e, sizeof e);
}

int sm_hv_vcpu_save(sm_hv_vcpu *vcpu, sm_snap_writer *w, uint16_t index)
{
    sm_hv *hv = vcpu->hv;
    int fd = vcpu->fd;
    int rc = sm_hv_vcpu_settle(vcpu);
    if (!rc) rc = save_cpuid(fd, w, index);
    if (!rc) rc = save_fixed(fd, &MP_STATE, w, index);
    if (!rc) rc = save_fixed(fd, &SREGS, w, index);
    if (!rc) rc = save_fixed(fd, &REGS, w, index);
    if (!rc) rc = save_fpu(hv, fd, w, index);
    if (!rc && has_cap(hv, KVM_CAP_XCRS) > 0)
        rc = save_fixed(fd, &XCRS, w, index);
    if (!rc) rc = save_msrs(hv, fd, w, index);
    if (!rc) rc = save_fixed(fd, &LAPIC, w, index);
    if (!rc) rc = save_events(fd, w, index);
    if (!rc) rc = save_fixed(fd, &DEBUGREGS, w, index);
    return rc < 0 ? sm_fail_context(rc, "saving vCPU %u", index) : 0;
}

/* CPUID first: it decides which MSRs and XSAVE components KVM accepts.
 * The LAPIC before the MSRs: setting it arms its timer from its mode, and
 * a change of mode (a fresh vCPU's one-shot to the guest's TSC-deadline)
 * clears the deadline, so IA32_TSC_DEADLINE must come after it or the
 * guest's timer never fires again. */
int sm_hv_vcpu_restore(sm_hv_vcpu *vcpu, const sm_snap_reader *r, uint16_t index)
{
    sm_hv *hv = vcpu->hv;
    int fd = vcpu->fd;
    int rc = restore_cpuid(fd, r, index);
    if (!rc) rc = restore_fixed(fd, &MP_STATE, r, index);
    if (!rc) rc = restore_fixed(fd, &SREGS, r, index);
    if (!rc) rc = restore_fixed(fd, &REGS, r, index);
    if (!rc) rc = restore_fpu(hv, fd, r, index);
    if (!rc) rc = restore_xcrs(hv, fd, r, index);
    if (!rc) rc = restore_fixed(fd, &LAPIC, r, index);
    if (!rc) rc = restore_msrs(fd, r, index);
    if (!rc) rc = restore_fixed(fd, &EVENTS, r, index);
    if (!rc) rc = restore_fixed(fd, &DEBUGREGS, r, index);
    return rc < 0 ? sm_fail_context(rc, "restoring vCPU %u", index) : 0;
}

/* Section index: 0 and 1 for the PICs, 0 for the IOAPIC. */
static const struct { uint32_t type; uint16_t index; uint32_t chip; const char *name; }
    CHIPS[] = {
        {SM_SNAP_VM_PIC, 0, KVM_IRQCHIP_PIC_MASTER, "master PIC"},
        {SM_SNAP_VM_PIC, 1, KVM_IRQCHIP_PIC_SLAVE, "slave PIC"},
        {SM_SNAP_VM_IOAPIC, 0, KVM_IRQCHIP_IOAPIC, "IOAPIC"},
};

static int save_chip(int vm, size_t i, sm_snap_writer *w)
{
    struct kvm_irqchip c;
    memset(&c, 0, sizeof c);
    c.chip_id = CHIPS[i].chip;
    int rc = get_ioctl(vm, KVM_GET_IRQCHIP, &c, CHIPS[i].name, CHIPS[i].index);
    return rc < 0 ? rc : sm_snap_writer_add_section(w, CHIPS[i].type, CHIPS[i].index, 0,
                                                    &c, sizeof c);
}

static int restore_chip(int vm, size_t i, const sm_snap_reader *r)
{
    const sm_snap_section *s;
    int rc = need_exact(r, CHIPS[i].type, CHIPS[i].index, sizeof(struct kvm_irqchip),
                        CHIPS[i].name, &s);
    if (rc < 0)
        return rc;
    struct kvm_irqchip c;
    memcpy(&c, s->data, sizeof c);
    if (c.chip_id != CHIPS[i].chip)
        return sm_fail(EPROTO, "snapshot section %s holds chip %u, expected %u: the "
                       "snapshot is damaged; bake it again", CHIPS[i].name, c.chip_id,
                       CHIPS[i].chip);
    return set_ioctl(vm, KVM_SET_IRQCHIP, &c, CHIPS[i].name, CHIPS[i].index);
}

static int save_clock(int vm, sm_snap_writer *w)
{
    struct kvm_clock_data c;
    memset(&c, 0, sizeof c);
    int rc = get_ioctl(vm, KVM_GET_CLOCK, &c, "kvm-clock", 0);
    return rc < 0 ? rc : sm_snap_writer_add_section(w, SM_SNAP_VM_CLOCK, 0, 0, &c, sizeof c);
}

/* Only the clock value is set back: with KVM_CLOCK_REALTIME, KVM would
 * advance it by the time since the save, and a snapshot is restored again
 * and again, days later. The guest's monotonic clock resumes where it
 * stopped; the agent sets the wall clock after restore. */
static int restore_clock(int vm, const sm_snap_reader *r)
{
    const sm_snap_section *s;
    int rc = need_exact(r, SM_SNAP_VM_CLOCK, 0, sizeof(struct kvm_clock_data), "kvm-clock", &s);
    if (rc < 0)
        return rc;
    struct kvm_clock_data c;
    memcpy(&c, s->data, sizeof c);
    struct kvm_clock_data set = {.clock = c.clock};
    return set_ioctl(vm, KVM_SET_CLOCK, &set, "kvm-clock", 0);
}

int sm_hv_vm_save(sm_hv *hv, sm_snap_writer *w)
{
    int vm = hv->vm_fd, rc = 0;
    for (size_t i = 0; i < sizeof CHIPS / sizeof CHIPS[0] && !rc; i++)
        rc = save_chip(vm, i, w);
    if (!rc) rc = save_fixed(vm, &PIT, w, 0);
    if (!rc) rc = save_clock(vm, w);
    return rc < 0 ? sm_fail_context(rc, "saving the VM's interrupt controllers and clock") : 0;
}

int sm_hv_vm_restore(sm_hv *hv, const sm_snap_reader *r)
{
    int vm = hv->vm_fd, rc = 0;
    for (size_t i = 0; i < sizeof CHIPS / sizeof CHIPS[0] && !rc; i++)
        rc = restore_chip(vm, i, r);
    if (!rc) rc = restore_fixed(vm, &PIT, r, 0);
    if (!rc) rc = restore_clock(vm, r);
    return rc < 0 ? sm_fail_context(rc, "restoring the VM's interrupt controllers and clock")
                  : 0;
}
