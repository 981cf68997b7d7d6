#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Read the environment on each call instead of caching it: debug logging is
 * rare and this keeps the library free of global mutable state. */
bool sm_log_debug_enabled(void)
{
    const char *v = getenv("SUPERMACHINE_LOG");
    return v && strcmp(v, "debug") == 0;
}

void sm_debug(const char *fmt, ...)
{
    if (!sm_log_debug_enabled())
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "supermachine[debug]: %s\n", line);
}
