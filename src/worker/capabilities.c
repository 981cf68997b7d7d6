/* Capabilities by raw syscalls (capabilities.h): libcap would be one more
 * library in every VM start for three calls. */
#include "worker/capabilities.h"

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"

#define BIT(cap) (1ULL << (cap))

uint64_t sm_caps_for_shares(void)
{
    return BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_FOWNER) | BIT(CAP_FSETID);
}

/* Every capability the kernel knows, newest included, until it says
 * EINVAL: the headers may be older than the kernel. */
static int drop_bounding(uint64_t keep)
{
    for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
        if (cap < 64 && (keep & BIT(cap)))
            continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
            return errno == EPERM ? 0 : sm_fail(errno, "cannot drop capability %d: %s", cap,
                                               strerror(errno));
    }
    return 0;
}

int sm_caps_keep_only(uint64_t keep)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return sm_fail(errno, "cannot read the worker's capabilities: %s", strerror(errno));
    int err = drop_bounding(keep);
    if (err)
        return err;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return sm_fail(errno, "cannot clear ambient capabilities: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        uint32_t k = (uint32_t)(keep >> (32 * i));
        d[i].permitted &= k;
        d[i].effective &= k;
        d[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &h, d) < 0)
        return sm_fail(errno, "cannot drop the worker's capabilities: %s", strerror(errno));
    return 0;
}
