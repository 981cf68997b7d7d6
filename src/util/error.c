#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One message per thread: the library is thread-safe and an error belongs to
 * the call that produced it. */
static _Thread_local char last_error[1024];

int sm_fail(int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return errnum > 0 ? -errnum : errnum == 0 ? -EIO : errnum;
}

int sm_fail_context(int err, const char *fmt, ...)
{
    char prefix[256], old[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    snprintf(last_error, sizeof last_error, "%s: %s", prefix, old);
    return err;
}

void sm_clear_error(void)
{
    last_error[0] = '\0';
}

const char *sm_error_text(void)
{
    return last_error[0] ? last_error : "no error";
}
