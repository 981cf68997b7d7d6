/* vCPU and VM state saved from one KVM VM and restored into another: a
 * guest counting in memory continues where it was paused, and damaged
 * sections are refused with a sentence. Needs /dev/kvm (run through
 * tests/kvm_test.py). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/kvm.h>

#include "persist/state_file.h"
#include "supermachine.h"
#include "vmm/hv.h"
#include "vmm/hv_kvm.h"

#define RAM_SIZE (1u << 20)
#define CODE_GPA 0x1000u
#define COUNTER_GPA 0x2000u
#define OUT_PORT 0x500u
#define N 500u

/* 32-bit code: forever { counter++ N times; esi++; OUT counter to 0x500 }.
 *   1000: inc dword [0x2000]     1006: inc ecx
 *   1007: cmp ecx, 500           100d: jne 1000
 *   100f: xor ecx, ecx           1011: inc esi
 *   1012: mov eax, [0x2000]      1017: mov dx, 0x500
 *   101b: out dx, eax            101c: jmp 1000 */
static const uint8_t GUEST[] = {
    0xff, 0x05, 0x00, 0x20, 0x00, 0x00, 0x41, 0x81, 0xf9, 0xf4, 0x01, 0x00, 0x00,
    0x75, 0xf1, 0x31, 0xc9, 0x46, 0xa1, 0x00, 0x20, 0x00, 0x00, 0x66, 0xba, 0x00,
    0x05, 0xef, 0xeb, 0xe2,
};

typedef struct vm {
    sm_hv *hv;
    sm_hv_vcpu *vcpu;
    uint8_t *ram;
} vm;

/* A VM with its platform, RAM (a copy of `from`, or the guest code) and one
 * vCPU; `entry` sets it to start at the code. */
static void vm_new(vm *v, const uint8_t *from, int entry)
{
    assert_int_equal(sm_hv_open(NULL, &v->hv), 0);
    assert_int_equal(sm_hv_create_platform(v->hv), 0);
    v->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_ptr_not_equal(v->ram, MAP_FAILED);
    if (from)
        memcpy(v->ram, from, RAM_SIZE);
    else
        memcpy(v->ram + CODE_GPA, GUEST, sizeof GUEST);
    assert_int_equal(sm_hv_map_ram(v->hv, 0, 0, v->ram, RAM_SIZE), 0);
    assert_int_equal(sm_hv_vcpu_create(v->hv, 0, 1, &v->vcpu), 0);
    if (entry)
        assert_int_equal(sm_hv_vcpu_set_entry32(v->vcpu, CODE_GPA, 0), 0);
}

static void vm_free(vm *v)
{
    sm_hv_vcpu_destroy(v->vcpu);
    sm_hv_close(v->hv);
    munmap(v->ram, RAM_SIZE);
}

/* Runs to the guest's next OUT and returns the value it wrote. */
static uint32_t run_to_out(vm *v)
{
    for (int i = 0; i < 1000; i++) {
        sm_hv_exit e;
        assert_int_equal(sm_hv_vcpu_run(v->vcpu, &e), 0);
        if (e.kind == SM_HV_EXIT_INTERRUPTED)
            continue;
        if (e.kind != SM_HV_EXIT_IO) {
            char regs[512];
            sm_hv_vcpu_describe(v->vcpu, regs, sizeof regs);
            fail_msg("unexpected exit kind %d (raw %u, detail %llu): %s", e.kind,
                     e.raw_reason, (unsigned long long)e.detail, regs);
        }
        assert_int_equal(e.io.port, OUT_PORT);
        assert_true(e.io.write);
        assert_int_equal(e.io.size, 4);
        uint32_t val;
        memcpy(&val, e.io.data, 4);
        return val;
    }
    fail_msg("the guest never reached its OUT");
    return 0;
}

static uint32_t counter(const vm *v)
{
    uint32_t c;
    memcpy(&c, v->ram + COUNTER_GPA, 4);
    return c;
}

static struct kvm_regs regs(const vm *v)
{
    struct kvm_regs r;
    assert_int_equal(ioctl(sm_hv_kvm_vcpu_fd(v->vcpu), KVM_GET_REGS, &r), 0);
    return r;
}

static void save(vm *v, uint8_t **blob, size_t *len)
{
    sm_snap_writer *w;
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    if (sm_hv_vcpu_save(v->vcpu, w, 0) < 0 || sm_hv_vm_save(v->hv, w) < 0) {
        sm_snap_writer_abort(w);
        fail_msg("save: %s", sm_last_error());
    }
    assert_int_equal(sm_snap_writer_finish_mem(w, blob, len), 0);
}

static int restore(vm *v, const uint8_t *blob, size_t len)
{
    sm_snap_reader *r;
    assert_int_equal(sm_snap_reader_open_mem(blob, len, &r), 0);
    int rc = sm_hv_vm_restore(v->hv, r);
    if (rc == 0)
        rc = sm_hv_vcpu_restore(v->vcpu, r, 0);
    sm_snap_reader_close(r);
    return rc;
}

#define MARK_CLOCK_NS 1000000000000ull  /* 1000 s of guest uptime */
#define MARK_VECTOR 0x31u
#define MARK_IMR 0xfau

static struct kvm_irqchip chip(const vm *v, uint32_t id)
{
    struct kvm_irqchip c = {.chip_id = id};
    assert_int_equal(ioctl(sm_hv_kvm_vm_fd(v->hv), KVM_GET_IRQCHIP, &c), 0);
    return c;
}

/* Interrupt controller and clock state unlike a fresh VM's, so that a
 * restore that skipped them shows. */
static void mark_vm_state(vm *v)
{
    int fd = sm_hv_kvm_vm_fd(v->hv);
    struct kvm_irqchip io = chip(v, KVM_IRQCHIP_IOAPIC);
    io.chip.ioapic.redirtbl[4].fields.vector = MARK_VECTOR;
    io.chip.ioapic.redirtbl[4].fields.mask = 0;
    assert_int_equal(ioctl(fd, KVM_SET_IRQCHIP, &io), 0);
    struct kvm_irqchip pic = chip(v, KVM_IRQCHIP_PIC_MASTER);
    pic.chip.pic.imr = MARK_IMR;
    assert_int_equal(ioctl(fd, KVM_SET_IRQCHIP, &pic), 0);
    struct kvm_clock_data c = {.clock = MARK_CLOCK_NS};
    assert_int_equal(ioctl(fd, KVM_SET_CLOCK, &c), 0);
}

/* The guest paused at its first OUT, its state and a copy of its RAM. */
typedef struct paused {
    uint8_t *blob;
    size_t len;
    uint8_t *ram;
    struct kvm_regs at_out;
} paused;

static int setup_paused(void **state)
{
    paused *p = calloc(1, sizeof *p);
    vm a;
    vm_new(&a, NULL, 1);
    assert_int_equal(run_to_out(&a), N);
    assert_int_equal(counter(&a), N);
    p->at_out = regs(&a);
    assert_int_equal(p->at_out.rsi, 1);
    mark_vm_state(&a);
    save(&a, &p->blob, &p->len);
    p->ram = malloc(RAM_SIZE);
    memcpy(p->ram, a.ram, RAM_SIZE);
    vm_free(&a);
    *state = p;
    return 0;
}

static int teardown_paused(void **state)
{
    paused *p = *state;
    free(p->blob);
    free(p->ram);
    free(p);
    return 0;
}

static void continues_in_second_vm(void **state)
{
    paused *p = *state;
    vm b;
    vm_new(&b, p->ram, 0);
    if (restore(&b, p->blob, p->len) < 0)
        fail_msg("restore: %s", sm_last_error());
    assert_int_equal(run_to_out(&b), 2 * N);
    assert_int_equal(counter(&b), 2 * N);
    struct kvm_regs r = regs(&b);
    assert_int_equal(r.rip, p->at_out.rip);
    assert_int_equal(r.rsi, 2);
    assert_int_equal(r.rcx, 0);
    assert_int_equal(r.rax, 2 * N);
    assert_int_equal(run_to_out(&b), 3 * N);
    vm_free(&b);
}

static void vm_state_carried(void **state)
{
    paused *p = *state;
    vm b;
    vm_new(&b, p->ram, 0);
    assert_int_equal(restore(&b, p->blob, p->len), 0);
    struct kvm_irqchip io = chip(&b, KVM_IRQCHIP_IOAPIC);
    assert_int_equal(io.chip.ioapic.redirtbl[4].fields.vector, MARK_VECTOR);
    assert_int_equal(io.chip.ioapic.redirtbl[4].fields.mask, 0);
    assert_int_equal(chip(&b, KVM_IRQCHIP_PIC_MASTER).chip.pic.imr, MARK_IMR);
    struct kvm_clock_data c = {0};
    assert_int_equal(ioctl(sm_hv_kvm_vm_fd(b.hv), KVM_GET_CLOCK, &c), 0);
    /* Resumed where it was, not advanced by the real time since the save. */
    assert_true(c.clock >= MARK_CLOCK_NS);
    assert_true(c.clock < MARK_CLOCK_NS + 60000000000ull);
    vm_free(&b);
}

/* Sections whose content does not move while the vCPU stands still; the
 * PIT, clock and MSRs hold timestamps and counters. */
static int stable_type(uint32_t type)
{
    return type != SM_SNAP_VM_PIT && type != SM_SNAP_VM_CLOCK && type != SM_SNAP_VCPU_MSRS;
}

static void save_after_restore_matches(void **state)
{
    paused *p = *state;
    vm b;
    vm_new(&b, p->ram, 0);
    assert_int_equal(restore(&b, p->blob, p->len), 0);
    uint8_t *again;
    size_t again_len;
    save(&b, &again, &again_len);
    sm_snap_reader *r1, *r2;
    assert_int_equal(sm_snap_reader_open_mem(p->blob, p->len, &r1), 0);
    assert_int_equal(sm_snap_reader_open_mem(again, again_len, &r2), 0);
    assert_int_equal(sm_snap_reader_count(r1), sm_snap_reader_count(r2));
    for (size_t i = 0; i < sm_snap_reader_count(r1); i++) {
        const sm_snap_section *a = sm_snap_reader_at(r1, i);
        const sm_snap_section *c = sm_snap_reader_find(r2, a->type, a->index);
        assert_non_null(c);
        assert_int_equal(a->len, c->len);
        if (stable_type(a->type) && memcmp(a->data, c->data, a->len) != 0)
            fail_msg("section 0x%x index %u changed across restore and save", a->type,
                     a->index);
    }
    sm_snap_reader_close(r1);
    sm_snap_reader_close(r2);
    free(again);
    vm_free(&b);
}

/* The blob with section (type, 0) cut to `len` bytes, or left out if len < 0;
 * `count` (if not NULL) replaces a list section's leading entry count. */
static void damaged(const paused *p, uint32_t type, long len, const uint32_t *count,
                    uint8_t **out, size_t *out_len)
{
    sm_snap_reader *r;
    sm_snap_writer *w;
    assert_int_equal(sm_snap_reader_open_mem(p->blob, p->len, &r), 0);
    assert_int_equal(sm_snap_writer_begin(&w), 0);
    for (size_t i = 0; i < sm_snap_reader_count(r); i++) {
        const sm_snap_section *s = sm_snap_reader_at(r, i);
        size_t n = s->len;
        uint8_t *copy = malloc(n + 1);
        memcpy(copy, s->data, n);
        if (s->type == type && s->index == 0) {
            if (len < 0) {
                free(copy);
                continue;
            }
            n = (size_t)len;
            if (count)
                memcpy(copy, count, 4);
        }
        assert_int_equal(sm_snap_writer_add_section(w, s->type, s->index, 0, copy, n), 0);
        free(copy);
    }
    sm_snap_reader_close(r);
    assert_int_equal(sm_snap_writer_finish_mem(w, out, out_len), 0);
}

static void expect_refused(const paused *p, uint32_t type, long len, const uint32_t *count,
                           int err, const char *words)
{
    uint8_t *blob;
    size_t n;
    damaged(p, type, len, count, &blob, &n);
    vm b;
    vm_new(&b, p->ram, 0);
    assert_int_equal(restore(&b, blob, n), -err);
    if (!strstr(sm_last_error(), words))
        fail_msg("error \"%s\" does not mention \"%s\"", sm_last_error(), words);
    vm_free(&b);
    free(blob);
}

static void short_regs_refused(void **state)
{
    expect_refused(*state, SM_SNAP_VCPU_REGS, sizeof(struct kvm_regs) - 8, NULL, EPROTO,
                   "registers");
}

static void long_lapic_refused(void **state)
{
    expect_refused(*state, SM_SNAP_VCPU_LAPIC, sizeof(struct kvm_lapic_state) + 8, NULL,
                   EPROTO, "local APIC");
}

static void cpuid_count_beyond_length_refused(void **state)
{
    uint32_t many = 100000;
    expect_refused(*state, SM_SNAP_VCPU_CPUID, 8 + sizeof(struct kvm_cpuid_entry2), &many,
                   EPROTO, "CPUID");
}

static void msrs_count_mismatch_refused(void **state)
{
    uint32_t three = 3;
    expect_refused(*state, SM_SNAP_VCPU_MSRS, 8 + 2 * sizeof(struct kvm_msr_entry), &three,
                   EPROTO, "MSRs");
}

static void short_pit_refused(void **state)
{
    expect_refused(*state, SM_SNAP_VM_PIT, 16, NULL, EPROTO, "PIT");
}

static void missing_lapic_refused(void **state)
{
    expect_refused(*state, SM_SNAP_VCPU_LAPIC, -1, NULL, ENOENT, "0x107");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(continues_in_second_vm),
        cmocka_unit_test(save_after_restore_matches),
        cmocka_unit_test(vm_state_carried),
        cmocka_unit_test(short_regs_refused),
        cmocka_unit_test(long_lapic_refused),
        cmocka_unit_test(cpuid_count_beyond_length_refused),
        cmocka_unit_test(msrs_count_mismatch_refused),
        cmocka_unit_test(short_pit_refused),
        cmocka_unit_test(missing_lapic_refused),
    };
    return cmocka_run_group_tests(tests, setup_paused, teardown_paused);
}
