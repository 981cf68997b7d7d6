/* Thread-local "last error" sentences behind sm_last_error(). */
#ifndef SM_UTIL_ERROR_H
#define SM_UTIL_ERROR_H

#include <errno.h>

/* The library's own error codes beside errno's, for code below the public
 * API; the public header gives them as SM_ENOKVM and SM_EKVMPERM (src/lib
 * checks that the values agree). */
#define SM_ERR_NOKVM 1001    /* no usable KVM */
#define SM_ERR_KVMPERM 1002  /* /dev/kvm exists, but this user may not open it */

/* Record a sentence for the calling thread and return -errnum, so that a
 * failing function can end with `return sm_fail(ENOENT, "...", ...);`. */
int sm_fail(int errnum, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the current thread's sentence with more context ("booting: ..."),
 * keeping the original cause. Returns err unchanged. */
int sm_fail_context(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void sm_clear_error(void);

/* The calling thread's sentence, for code below the public API (which
 * gives it as sm_last_error()). */
const char *sm_error_text(void);

#endif
