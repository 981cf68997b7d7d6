#include "vmm/vmlinux.h"

#include <elf.h>
#include <string.h>

#include "util/error.h"

/* Xen's ELF note, which Linux built with CONFIG_PVH carries. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

static int bad(const char *name, const char *why)
{
    return sm_fail(ENOEXEC, "kernel '%s' is not a usable vmlinux: %s", name, why);
}

static uint64_t align4(uint64_t v)
{
    return (v + 3) & ~3ull;
}

/* Walk one PT_NOTE segment for the PVH entry note. */
static void scan_notes(const uint8_t *p, uint64_t len, sm_vmlinux *out)
{
    uint64_t off = 0;
    while (len - off >= sizeof(Elf64_Nhdr)) {
        Elf64_Nhdr nh;
        memcpy(&nh, p + off, sizeof nh);
        off += sizeof nh;
        uint64_t name_len = align4(nh.n_namesz), desc_len = align4(nh.n_descsz);
        if (name_len > len - off || desc_len > len - off - name_len)
            return;
        const uint8_t *name = p + off, *desc = p + off + name_len;
        if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
            memcmp(name, "Xen", 4) == 0 && (nh.n_descsz == 4 || nh.n_descsz == 8)) {
            uint64_t entry = 0;
            memcpy(&entry, desc, nh.n_descsz);
            out->pvh_entry = entry;
        }
        off += name_len + desc_len;
    }
}

static int check_header(const Elf64_Ehdr *eh, size_t len, const char *name)
{
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
        return bad(name, "no ELF header (a bzImage or a garbage file?); "
                         "use the uncompressed vmlinux");
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_X86_64)
        return bad(name, "not a 64-bit x86 ELF");
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
        eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
        return bad(name, "program headers are missing or truncated");
    return 0;
}

static int add_segment(const Elf64_Phdr *ph, size_t len, const char *name, sm_vmlinux *out)
{
    if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
        return bad(name, "a segment lies beyond the end of the file (truncated?)");
    if (ph->p_filesz > ph->p_memsz || ph->p_paddr + ph->p_memsz < ph->p_paddr)
        return bad(name, "a segment has impossible sizes");
    if (out->nsegments == SM_VMLINUX_MAX_SEGMENTS)
        return bad(name, "too many loadable segments");
    out->segments[out->nsegments++] = (sm_vmlinux_segment){
        .paddr = ph->p_paddr, .file_offset = ph->p_offset,
        .file_size = ph->p_filesz, .mem_size = ph->p_memsz};
    if (ph->p_paddr + ph->p_memsz > out->load_end)
        out->load_end = ph->p_paddr + ph->p_memsz;
    return 0;
}

int sm_vmlinux_parse(const uint8_t *img, size_t len, const char *name, sm_vmlinux *out)
{
    memset(out, 0, sizeof *out);
    Elf64_Ehdr eh;
    if (len < sizeof eh)
        return bad(name, len ? "file too short for an ELF header" : "file is empty");
    memcpy(&eh, img, sizeof eh);
    int err = check_header(&eh, len, name);
    for (unsigned i = 0; !err && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_memsz)
            err = add_segment(&ph, len, name, out);
        else if (ph.p_type == PT_NOTE && ph.p_offset <= len && ph.p_filesz <= len - ph.p_offset)
            scan_notes(img + ph.p_offset, ph.p_filesz, out);
    }
    if (err)
        return err;
    if (out->nsegments == 0)
        return bad(name, "no loadable segments");
    if (out->pvh_entry == 0)
        return bad(name, "no PVH entry note (build the kernel with CONFIG_PVH=y)");
    return 0;
}

int sm_vmlinux_load(const sm_vmlinux *k, const uint8_t *img, const sm_gmem *mem)
{
    for (unsigned i = 0; i < k->nsegments; i++) {
        const sm_vmlinux_segment *s = &k->segments[i];
        uint8_t *dst = sm_gmem_ptr(mem, s->paddr, s->mem_size);
        if (!dst)
            return sm_fail(ENOMEM, "the kernel does not fit in guest memory "
                           "(it needs guest-physical %#llx-%#llx); give the VM more memory",
                           (unsigned long long)s->paddr,
                           (unsigned long long)(s->paddr + s->mem_size));
        memcpy(dst, img + s->file_offset, s->file_size);
        memset(dst + s->file_size, 0, s->mem_size - s->file_size);
    }
    return 0;
}
