#include "vmm/console_tail.h"

#include <string.h>

void sm_console_tail_add(sm_console_tail *t, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        t->ring[t->next++] = (char)buf[i];
        if (t->next == sizeof t->ring) {
            t->next = 0;
            t->wrapped = true;
        }
    }
}

/* The kept bytes in order, oldest first; returns how many. */
static size_t linearize(const sm_console_tail *t, char *out)
{
    if (!t->wrapped) {
        memcpy(out, t->ring, t->next);
        return t->next;
    }
    size_t older = sizeof t->ring - t->next;
    memcpy(out, t->ring + t->next, older);
    memcpy(out + older, t->ring, t->next);
    return sizeof t->ring;
}

void sm_console_tail_lines(const sm_console_tail *t, unsigned lines, char *out, size_t len)
{
    char text[SM_CONSOLE_TAIL_BYTES];
    size_t n = linearize(t, text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    size_t start = n;
    for (unsigned seen = 0; start > 0; start--)
        if (text[start - 1] == '\n' && ++seen == lines)
            break;
    size_t o = 0;
    for (size_t i = start; i < n && o + 1 < len; i++) {
        char c = text[i];
        if (c == '\r')
            continue;
        out[o++] = (c == '\n' || (c >= 0x20 && c < 0x7f)) ? c : '?';
    }
    if (len)
        out[o] = '\0';
}

bool sm_console_tail_contains(const sm_console_tail *t, const char *needle)
{
    char text[SM_CONSOLE_TAIL_BYTES + 1];
    size_t n = linearize(t, text);
    text[n] = '\0';
    /* Guest bytes may contain NULs; search each NUL-separated piece. */
    for (size_t i = 0; i < n; i += strlen(text + i) + 1)
        if (strstr(text + i, needle))
            return true;
    return false;
}
