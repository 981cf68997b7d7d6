/* Diagnostics for developers, off unless SUPERMACHINE_LOG=debug. */
#ifndef SM_UTIL_LOG_H
#define SM_UTIL_LOG_H

#include <stdbool.h>

bool sm_log_debug_enabled(void);
void sm_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
