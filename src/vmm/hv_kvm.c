/* sm_hv on Linux KVM. */
#include "vmm/hv_kvm.h"
#include "vmm/hv_kvm_int.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cpuinfo.h"
#include "util/error.h"
#include "vmm/x86_cpuid.h"

#define KVM_DEFAULT_DEVICE "/dev/kvm"
/* Above the 32-bit MMIO devices and below the 4 GiB line, as Intel VMX
 * needs three pages for its real-mode TSS and one for the identity map. */
#define KVM_TSS_ADDR 0xfffbd000ull
#define LAPIC_LVT0 0x350
#define LAPIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

/* Says who may open the device and how this user can become one of them. */
static int permission_error(const char *dev)
{
    struct stat st;
    if (stat(dev, &st) < 0)
        return sm_fail(SM_ERR_KVMPERM, "no permission to open %s: run as root or ask for "
                       "access to it", dev);
    struct group *g = getgrgid(st.st_gid);
    char gname[64];
    if (g)
        snprintf(gname, sizeof gname, "%s", g->gr_name);
    else
        snprintf(gname, sizeof gname, "%u", (unsigned)st.st_gid);
    unsigned mode = (unsigned)(st.st_mode & 0777);
    if ((mode & 060) != 060 || st.st_gid == 0)
        return sm_fail(SM_ERR_KVMPERM, "no permission to open %s: only root may (mode %04o, "
                       "group %s); as root, 'chgrp kvm %s && chmod 660 %s' (what udev "
                       "does on most distributions), then add your user to group kvm",
                       dev, mode, gname, dev, dev);
    return sm_fail(SM_ERR_KVMPERM, "no permission to open %s (mode %04o, group %s): add your "
                   "user to that group ('sudo usermod -aG %s $USER', then log in again)",
                   dev, mode, gname, gname);
}

static int open_error(const char *dev, int err)
{
    switch (err) {
    case ENOENT:
        if (!sm_cpuinfo_has_flag("vmx") && !sm_cpuinfo_has_flag("svm"))
            return sm_fail(SM_ERR_NOKVM, "%s does not exist: this CPU offers no hardware "
                           "virtualization (no vmx or svm in /proc/cpuinfo); enable it in "
                           "the firmware, or nested virtualization on a cloud VM", dev);
        return sm_fail(SM_ERR_NOKVM, "%s does not exist: the CPU has virtualization but KVM "
                       "is not loaded; run 'modprobe kvm_intel' or 'modprobe kvm_amd'", dev);
    case EACCES:
    case EPERM:
        return permission_error(dev);
    case ENXIO:
    case ENODEV:
        return sm_fail(SM_ERR_NOKVM, "%s exists but no KVM driver answers (%s): load "
                       "kvm_intel or kvm_amd", dev, strerror(err));
    default:
        return sm_fail(err, "cannot open %s: %s", dev, strerror(err));
    }
}

static int check_kvm(sm_hv *hv, const char *dev)
{
    int v = ioctl(hv->kvm_fd, KVM_GET_API_VERSION, 0);
    if (v < 0)
        return sm_fail(SM_ERR_NOKVM, "%s is not a KVM device (%s)", dev, strerror(errno));
    if (v != KVM_API_VERSION)
        return sm_fail(SM_ERR_NOKVM, "%s speaks KVM API %d, supermachine needs %d",
                       dev, v, KVM_API_VERSION);
    static const struct { int cap; const char *name; } needed[] = {
        {KVM_CAP_USER_MEMORY, "user memory"},
        {KVM_CAP_IRQCHIP, "in-kernel irqchip"},
        {KVM_CAP_IMMEDIATE_EXIT, "immediate exit"},
        {KVM_CAP_EXT_CPUID, "CPUID setup"},
        {KVM_CAP_IOEVENTFD, "ioeventfd"},
        {KVM_CAP_IRQFD, "irqfd"},
    };
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
        if (ioctl(hv->kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
            return sm_fail(SM_ERR_NOKVM, "this KVM lacks %s, which supermachine needs",
                           needed[i].name);
    return 0;
}

static int read_supported_cpuid(sm_hv *hv)
{
    for (int n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof *c + n * sizeof c->entries[0]);
        if (!c)
            return sm_fail(ENOMEM, "out of memory reading CPUID");
        c->nent = n;
        if (ioctl(hv->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            hv->cpuid = c;
            return 0;
        }
        int err = errno;
        free(c);
        if (err != E2BIG)
            return sm_fail(err, "KVM_GET_SUPPORTED_CPUID: %s", strerror(err));
    }
    return sm_fail(E2BIG, "KVM reports an implausibly large CPUID table");
}

int sm_hv_check(const char *device, int *api_version)
{
    const char *dev = device ? device : KVM_DEFAULT_DEVICE;
    sm_hv hv = {.vm_fd = -1};
    hv.kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
    if (hv.kvm_fd < 0)
        return open_error(dev, errno);
    *api_version = ioctl(hv.kvm_fd, KVM_GET_API_VERSION, 0);
    int err = check_kvm(&hv, dev);
    close(hv.kvm_fd);
    return err;
}

int sm_hv_open(const char *device, sm_hv **out)
{
    const char *dev = device ? device : KVM_DEFAULT_DEVICE;
    sm_hv *hv = calloc(1, sizeof *hv);
    if (!hv)
        return sm_fail(ENOMEM, "out of memory");
    hv->vm_fd = -1;
    hv->kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
    int err = hv->kvm_fd < 0 ? open_error(dev, errno) : check_kvm(hv, dev);
    if (!err && (hv->run_size = ioctl(hv->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0)
        err = sm_fail(errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
    if (!err)
        err = read_supported_cpuid(hv);
    if (!err && (hv->vm_fd = ioctl(hv->kvm_fd, KVM_CREATE_VM, 0)) < 0)
        err = sm_fail(errno, "cannot create a KVM VM: %s", strerror(errno));
    if (err) {
        sm_hv_close(hv);
        return err;
    }
    *out = hv;
    return 0;
}

void sm_hv_close(sm_hv *hv)
{
    if (!hv)
        return;
    if (hv->vm_fd >= 0)
        close(hv->vm_fd);
    if (hv->kvm_fd >= 0)
        close(hv->kvm_fd);
    free(hv->cpuid);
    free(hv);
}

int sm_hv_map_ram(sm_hv *hv, uint32_t slot, uint64_t gpa, void *host, uint64_t size)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot, .guest_phys_addr = gpa, .memory_size = size,
        .userspace_addr = (uintptr_t)host,
    };
    if (ioctl(hv->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return sm_fail(errno, "cannot map %llu MiB of guest memory: %s",
                       (unsigned long long)(size >> 20), strerror(errno));
    return 0;
}

int sm_hv_create_platform(sm_hv *hv)
{
    if (ioctl(hv->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
        return sm_fail(errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
    if (ioctl(hv->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return sm_fail(errno, "cannot create the in-kernel irqchip: %s", strerror(errno));
    struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
    if (ioctl(hv->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
        return sm_fail(errno, "cannot create the in-kernel PIT: %s", strerror(errno));
    return 0;
}

int sm_hv_irq_line(sm_hv *hv, uint32_t irq, bool level)
{
    struct kvm_irq_level l = {.irq = irq, .level = level};
    if (ioctl(hv->vm_fd, KVM_IRQ_LINE, &l) < 0)
        return sm_fail(errno, "KVM_IRQ_LINE %u: %s", irq, strerror(errno));
    return 0;
}

int sm_hv_ioeventfd(sm_hv *hv, int fd, uint64_t addr, uint32_t len, uint64_t value)
{
    struct kvm_ioeventfd e = {.datamatch = value, .addr = addr, .len = len, .fd = fd,
                              .flags = KVM_IOEVENTFD_FLAG_DATAMATCH};
    if (ioctl(hv->vm_fd, KVM_IOEVENTFD, &e) < 0)
        return sm_fail(errno, "KVM_IOEVENTFD at %#llx: %s", (unsigned long long)addr,
                       strerror(errno));
    return 0;
}

int sm_hv_irqfd(sm_hv *hv, int fd, uint32_t irq)
{
    struct kvm_irqfd f = {.fd = (uint32_t)fd, .gsi = irq};
    if (ioctl(hv->vm_fd, KVM_IRQFD, &f) < 0)
        return sm_fail(errno, "KVM_IRQFD for irq %u: %s", irq, strerror(errno));
    return 0;
}

static int set_cpuid(sm_hv_vcpu *v, unsigned count)
{
    const struct kvm_cpuid2 *sup = v->hv->cpuid;
    size_t n = sup->nent;
    sm_cpuid_entry *e = calloc(n ? n : 1, sizeof *e);
    struct kvm_cpuid2 *c = calloc(1, sizeof *c + n * sizeof c->entries[0]);
    int err = 0;
    if (!e || !c) {
        err = sm_fail(ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct kvm_cpuid_entry2 *s = &sup->entries[i];
        e[i] = (sm_cpuid_entry){s->function, s->index, s->flags,
                                s->eax, s->ebx, s->ecx, s->edx};
    }
    sm_cpuid_for_vcpu(e, n, v->index, count);
    c->nent = n;
    for (size_t i = 0; i < n; i++)
        c->entries[i] = (struct kvm_cpuid_entry2){
            .function = e[i].function, .index = e[i].index, .flags = e[i].flags,
            .eax = e[i].eax, .ebx = e[i].ebx, .ecx = e[i].ecx, .edx = e[i].edx};
    if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
        err = sm_fail(errno, "KVM_SET_CPUID2: %s", strerror(errno));
out:
    free(e);
    free(c);
    return err;
}

static void set_lvt_mode(struct kvm_lapic_state *s, int reg, uint32_t mode)
{
    uint32_t v;
    memcpy(&v, &s->regs[reg], 4);
    v = (v & ~0x700u) | (mode << 8);
    memcpy(&s->regs[reg], &v, 4);
}

/* LINT0 takes the PIC's ExtINT and LINT1 NMIs, as the MP table says. */
static int setup_lapic(sm_hv_vcpu *v)
{
    struct kvm_lapic_state s;
    if (ioctl(v->fd, KVM_GET_LAPIC, &s) < 0)
        return sm_fail(errno, "KVM_GET_LAPIC: %s", strerror(errno));
    set_lvt_mode(&s, LAPIC_LVT0, APIC_MODE_EXTINT);
    set_lvt_mode(&s, LAPIC_LVT1, APIC_MODE_NMI);
    if (ioctl(v->fd, KVM_SET_LAPIC, &s) < 0)
        return sm_fail(errno, "KVM_SET_LAPIC: %s", strerror(errno));
    return 0;
}

int sm_hv_vcpu_create(sm_hv *hv, unsigned index, unsigned count, sm_hv_vcpu **out)
{
    sm_hv_vcpu *v = calloc(1, sizeof *v);
    if (!v)
        return sm_fail(ENOMEM, "out of memory");
    v->hv = hv;
    v->index = index;
    v->fd = ioctl(hv->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
    if (v->fd < 0) {
        int err = sm_fail(errno, "cannot create vCPU %u: %s", index, strerror(errno));
        free(v);
        return err;
    }
    v->run = mmap(NULL, hv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    int err = 0;
    if (v->run == MAP_FAILED) {
        v->run = NULL;
        err = sm_fail(errno, "cannot map vCPU %u state: %s", index, strerror(errno));
    }
    if (!err)
        err = set_cpuid(v, count);
    if (!err)
        err = setup_lapic(v);
    if (err) {
        sm_hv_vcpu_destroy(v);
        return err;
    }
    *out = v;
    return 0;
}

void sm_hv_vcpu_destroy(sm_hv_vcpu *v)
{
    if (!v)
        return;
    if (v->run)
        munmap(v->run, v->hv->run_size);
    close(v->fd);
    free(v);
}

static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
    return (struct kvm_segment){
        .base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
        .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
    };
}

int sm_hv_vcpu_set_entry32(sm_hv_vcpu *v, uint64_t rip, uint64_t rbx)
{
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
        return sm_fail(errno, "KVM_GET_SREGS: %s", strerror(errno));
    s.cs = flat_segment(0x10, 0xb);  /* execute/read, accessed */
    s.ds = s.es = s.fs = s.gs = s.ss = flat_segment(0x18, 0x3); /* read/write, accessed */
    s.tr = (struct kvm_segment){.limit = 0x67, .selector = 0x20, .type = 0xb, .present = 1};
    s.cr0 = 0x11; /* PE | ET */
    s.cr4 = 0;
    s.efer = 0;
    if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
        return sm_fail(errno, "KVM_SET_SREGS: %s", strerror(errno));
    struct kvm_regs r = {.rip = rip, .rbx = rbx, .rflags = 0x2};
    if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
        return sm_fail(errno, "KVM_SET_REGS: %s", strerror(errno));
    return 0;
}

static void decode_io(struct kvm_run *run, sm_hv_exit *e)
{
    e->kind = SM_HV_EXIT_IO;
    e->io.port = run->io.port;
    e->io.size = run->io.size;
    e->io.write = run->io.direction == KVM_EXIT_IO_OUT;
    e->io.count = run->io.count;
    e->io.data = (uint8_t *)run + run->io.data_offset;
}

static void decode(struct kvm_run *run, sm_hv_exit *e)
{
    memset(e, 0, sizeof *e);
    e->raw_reason = run->exit_reason;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        decode_io(run, e);
        break;
    case KVM_EXIT_MMIO:
        e->kind = SM_HV_EXIT_MMIO;
        e->mmio.addr = run->mmio.phys_addr;
        e->mmio.len = run->mmio.len;
        e->mmio.write = run->mmio.is_write;
        e->mmio.data = run->mmio.data;
        break;
    case KVM_EXIT_SHUTDOWN:
        e->kind = SM_HV_EXIT_SHUTDOWN;
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        e->kind = SM_HV_EXIT_SYSTEM_RESET;
        e->detail = run->system_event.type;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        e->kind = SM_HV_EXIT_INTERNAL;
        e->detail = run->internal.suberror;
        break;
    case KVM_EXIT_FAIL_ENTRY:
        e->kind = SM_HV_EXIT_FAIL_ENTRY;
        e->detail = run->fail_entry.hardware_entry_failure_reason;
        break;
    case KVM_EXIT_INTR:
        e->kind = SM_HV_EXIT_INTERRUPTED;
        break;
    default:
        e->kind = SM_HV_EXIT_OTHER;
        break;
    }
}

int sm_hv_vcpu_run(sm_hv_vcpu *v, sm_hv_exit *exit)
{
    if (ioctl(v->fd, KVM_RUN, 0) < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            /* Whoever kicked us set its flag first; the caller reads it.
             * KVM completed any pending I/O before it returned. */
            __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
            v->unsettled = false;
            memset(exit, 0, sizeof *exit);
            exit->kind = SM_HV_EXIT_INTERRUPTED;
            return 0;
        }
        return sm_fail(errno, "KVM_RUN on vCPU %u: %s", v->index, strerror(errno));
    }
    decode(v->run, exit);
    v->unsettled = exit->kind == SM_HV_EXIT_IO || exit->kind == SM_HV_EXIT_MMIO;
    return 0;
}

/* KVM finishes an I/O or MMIO instruction (stores an IN's data, moves RIP
 * past it) only when KVM_RUN is entered again, and keeps that pending
 * work where no state ioctl sees it. With immediate_exit set, KVM_RUN
 * does the pending work and returns EINTR before any guest instruction. */
int sm_hv_vcpu_settle(sm_hv_vcpu *v)
{
    if (!v->unsettled)
        return 0;
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    int rc = ioctl(v->fd, KVM_RUN, 0);
    int err = errno;
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (rc < 0 && err != EINTR && err != EAGAIN)
        return sm_fail(err, "KVM_RUN to complete vCPU %u's I/O: %s", v->index, strerror(err));
    v->unsettled = false;
    return 0;
}

void sm_hv_vcpu_kick(sm_hv_vcpu *v)
{
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

void sm_hv_vcpu_describe(sm_hv_vcpu *v, char *buf, size_t len)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
        snprintf(buf, len, "vCPU %u: registers unavailable (%s)", v->index, strerror(errno));
        return;
    }
    snprintf(buf, len,
             "vCPU %u: rip=%#llx rsp=%#llx rflags=%#llx rax=%#llx rbx=%#llx "
             "rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx cs=%#x cr0=%#llx cr2=%#llx "
             "cr3=%#llx cr4=%#llx efer=%#llx",
             v->index, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi,
             r.rdi, s.cs.selector, s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}

int sm_hv_kvm_vm_fd(const sm_hv *hv)
{
    return hv->vm_fd;
}

int sm_hv_kvm_vcpu_fd(const sm_hv_vcpu *v)
{
    return v->fd;
}
