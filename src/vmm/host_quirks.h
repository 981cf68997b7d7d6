/* What the host's KVM needs from the guest that real hardware does not. */
#ifndef SM_VMM_HOST_QUIRKS_H
#define SM_VMM_HOST_QUIRKS_H

#include <stdbool.h>

/* The "PVM" KVM (module kvm_pvm) interprets guest kernel code and cannot
 * emulate XSAVE, POPCNT, CLAC, CMPXCHG16B and fast-string paths; user-mode
 * SYSCALL also needs the kernel's sm_pvm_quirks workaround. */
bool sm_host_is_pvm(void);

/* Kernel command-line words this host needs ("" on real KVM). */
const char *sm_host_cmdline_quirks(void);

#endif
