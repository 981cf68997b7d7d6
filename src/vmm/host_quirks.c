#include "vmm/host_quirks.h"

#include <unistd.h>

bool sm_host_is_pvm(void)
{
    return access("/sys/module/kvm_pvm", F_OK) == 0;
}

const char *sm_host_cmdline_quirks(void)
{
    if (!sm_host_is_pvm())
        return "";
    /* noxsave/clearcpuid: instructions the PVM emulator lacks.
     * rodata=off: saves emulated page-table splitting at boot.
     * sm_pvm_quirks: enables our kernel patches for this host.
     * noreplace-smp: with one vCPU the kernel would spend ~2 s of emulated
     * time rewriting its ~5000 lock prefixes; keeping them is correct.
     * GLIBC_TUNABLES (passed by the kernel to sm-init's environment, and
     * by sm-init to every command): guest user mode runs natively, so its
     * CPUID shows the host's AVX and AVX-512, but with noxsave the guest
     * kernel saves only SSE state across task switches; glibc's AVX string
     * functions then see their registers change under them (5 to 15 of
     * 60 busybox processes started together crashed). Masking AVX in glibc
     * keeps glibc programs correct; other AVX users stay exposed here. */
    return "noxsave clearcpuid=popcnt,smap,erms,fsrm,cx16 rodata=off sm_pvm_quirks noreplace-smp "
           "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,"
           "-AVX512DQ,-AVX512CD,-FMA,-F16C";
}
