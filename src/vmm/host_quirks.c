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
     * sm_pvm_quirks: enables our kernel patches for this host. */
    return "noxsave clearcpuid=popcnt,smap,erms,fsrm,cx16 rodata=off sm_pvm_quirks";
}
