#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "supermachine.h"
#include "vmm/vmlinux.h"

/* A minimal vmlinux: ELF header, one PT_LOAD, one PT_NOTE with the PVH
 * entry, then the segment bytes. */
typedef struct image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[2];
    Elf64_Nhdr nh;
    char name[4];
    uint32_t entry;
    uint8_t code[64];
} image;

static void make_image(image *im)
{
    memset(im, 0, sizeof *im);
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS64;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_machine = EM_X86_64;
    im->eh.e_phoff = offsetof(image, ph);
    im->eh.e_phentsize = sizeof(Elf64_Phdr);
    im->eh.e_phnum = 2;
    im->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD, .p_offset = offsetof(image, code),
                             .p_paddr = 0x10000, .p_filesz = 64, .p_memsz = 4096};
    im->ph[1] = (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = offsetof(image, nh),
                             .p_filesz = sizeof(Elf64_Nhdr) + 8};
    im->nh = (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 4, .n_type = 18};
    memcpy(im->name, "Xen", 4);
    im->entry = 0x10020;
    memset(im->code, 0xcc, sizeof im->code);
}

static void parses_a_valid_image(void **state)
{
    (void)state;
    image im;
    make_image(&im);
    sm_vmlinux k;
    assert_int_equal(sm_vmlinux_parse((uint8_t *)&im, sizeof im, "k", &k), 0);
    assert_int_equal(k.pvh_entry, 0x10020);
    assert_int_equal(k.nsegments, 1);
    assert_int_equal(k.load_end, 0x10000 + 4096);

    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 1 << 20), 0);
    memset(m.base, 0x55, 1 << 20);
    assert_int_equal(sm_vmlinux_load(&k, (uint8_t *)&im, &m), 0);
    assert_int_equal(m.base[0x10000], 0xcc);
    assert_int_equal(m.base[0x10000 + 63], 0xcc);
    assert_int_equal(m.base[0x10000 + 64], 0);       /* .bss zeroed */
    assert_int_equal(m.base[0x10000 + 4095], 0);
    assert_int_equal(m.base[0x10000 + 4096], 0x55);  /* nothing beyond */
    sm_gmem_free(&m);
}

static void expect_enoexec(const void *img, size_t len, const char *why)
{
    sm_vmlinux k;
    assert_int_equal(sm_vmlinux_parse(img, len, "kernel.bin", &k), -ENOEXEC);
    assert_non_null(strstr(sm_last_error(), "kernel.bin"));
    assert_non_null(strstr(sm_last_error(), why));
}

static void rejects_garbage(void **state)
{
    (void)state;
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    expect_enoexec(junk, sizeof junk, "no ELF header");
    expect_enoexec(junk, 0, "empty");
    expect_enoexec(junk, 10, "too short");
}

static void rejects_truncation_and_lies(void **state)
{
    (void)state;
    image im;
    make_image(&im);
    expect_enoexec(&im, offsetof(image, ph) + 10, "program headers");

    make_image(&im);
    im.ph[0].p_filesz = 1 << 20;  /* segment beyond the file */
    expect_enoexec(&im, sizeof im, "beyond the end");

    make_image(&im);
    im.ph[0].p_filesz = 32;       /* file bigger than memory size */
    im.ph[0].p_memsz = 16;
    im.ph[0].p_offset = 0;
    expect_enoexec(&im, sizeof im, "impossible");

    make_image(&im);
    im.eh.e_machine = EM_AARCH64;
    expect_enoexec(&im, sizeof im, "64-bit x86");

    make_image(&im);
    im.nh.n_type = 1;             /* no PVH note */
    expect_enoexec(&im, sizeof im, "PVH");

    make_image(&im);
    im.nh.n_namesz = 0xffffff00;  /* note sizes that run off the end */
    expect_enoexec(&im, sizeof im, "PVH");
}

static void load_refuses_memory_too_small(void **state)
{
    (void)state;
    image im;
    make_image(&im);
    im.ph[0].p_paddr = 0xff800;   /* runs past 1 MiB of RAM */
    sm_vmlinux k;
    assert_int_equal(sm_vmlinux_parse((uint8_t *)&im, sizeof im, "k", &k), 0);
    sm_gmem m;
    assert_int_equal(sm_gmem_init(&m, 1 << 20), 0);
    assert_int_equal(sm_vmlinux_load(&k, (uint8_t *)&im, &m), -ENOMEM);
    sm_gmem_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_a_valid_image),
        cmocka_unit_test(rejects_garbage),
        cmocka_unit_test(rejects_truncation_and_lies),
        cmocka_unit_test(load_refuses_memory_too_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
