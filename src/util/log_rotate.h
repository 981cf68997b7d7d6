/*
 * Logs a guest fills (its console, its main process's output) kept under
 * a size, as docker's "local" log driver keeps a container's: when the
 * next write would take FILE past half the budget, FILE becomes FILE.1
 * (the one before is dropped) and writing goes on in a new FILE under the
 * same descriptor number, so whoever holds the descriptor needs to know
 * nothing. Both together stay within the budget and the newest half of it
 * at least is always kept; a reader reads FILE.1, then FILE.
 *
 * Where the file cannot be renamed (no /proc, no right to), it is emptied
 * instead: the bound holds, the history is lost.
 */
#ifndef SM_UTIL_LOG_ROTATE_H
#define SM_UTIL_LOG_ROTATE_H

#include <stdint.h>

#define SM_LOG_MAX_DEFAULT (100ull << 20)
#define SM_LOG_MAX_MIN (64ull << 10)        /* smaller budgets are raised to it */
#define SM_LOG_MAX_ENV "SUPERMACHINE_MAX_LOG_SIZE"
#define SM_LOG_OLD_SUFFIX ".1"

/* The budget of each log: SUPERMACHINE_MAX_LOG_SIZE ("100m", "1g", bytes)
 * if it is a size, else SM_LOG_MAX_DEFAULT; at least SM_LOG_MAX_MIN. */
uint64_t sm_log_max_bytes(void);

/* Before n more bytes go to fd: rotate it if they would take it past
 * max / 2 (a file already empty is never rotated). A descriptor that is
 * not a regular file (a terminal, a pipe) is left alone. Returns 0 or a
 * negative errno. */
int sm_log_make_room(int fd, uint64_t n, uint64_t max);

#endif
