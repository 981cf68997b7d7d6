/* The last few KiB of the guest console, kept to explain a crash. */
#ifndef SM_VMM_CONSOLE_TAIL_H
#define SM_VMM_CONSOLE_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_CONSOLE_TAIL_BYTES 8192

typedef struct sm_console_tail {
    char ring[SM_CONSOLE_TAIL_BYTES];
    size_t next;      /* where the next byte goes */
    bool wrapped;
} sm_console_tail;

void sm_console_tail_add(sm_console_tail *t, const uint8_t *buf, size_t len);

/* Copy up to `lines` last complete-or-partial lines, NUL-terminated and
 * with non-printable bytes replaced, into out. */
void sm_console_tail_lines(const sm_console_tail *t, unsigned lines, char *out, size_t len);

/* Whether the kept text contains `needle`. */
bool sm_console_tail_contains(const sm_console_tail *t, const char *needle);

#endif
