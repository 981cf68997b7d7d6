/* sm_last_error and sm_strerror: the public names of util/error's
 * sentences and codes. */
#include <stdlib.h>
#include <string.h>

#include "supermachine.h"
#include "util/error.h"

/* Code below the public API fails with util's names for these codes;
 * callers compare against the public ones. */
_Static_assert(SM_ERR_NOKVM == SM_ENOKVM, "util's SM_ERR_NOKVM must be SM_ENOKVM");
_Static_assert(SM_ERR_KVMPERM == SM_EKVMPERM, "util's SM_ERR_KVMPERM must be SM_EKVMPERM");

SM_API const char *sm_last_error(void)
{
    return sm_error_text();
}

/* The library's plain buffers come from its own malloc: a caller linked
 * with another allocator (a language runtime's) must not free them. */
SM_API void sm_free(void *p)
{
    free(p);
}

SM_API const char *sm_strerror(int err)
{
    switch (err < 0 ? -err : err) {
    case SM_ENOKVM:
        return "No usable KVM";
    case SM_EKVMPERM:
        return "No permission to use KVM";
    default:
        return strerror(err < 0 ? -err : err);
    }
}
