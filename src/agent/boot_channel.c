#include "agent/boot_channel.h"

#include <stdio.h>
#include <string.h>

static const char *const event_word[] = {
    [SM_BOOT_EVENT_START] = "start",
    [SM_BOOT_EVENT_EXIT] = "exit",
    [SM_BOOT_EVENT_SIGNAL] = "signal",
    [SM_BOOT_EVENT_READY] = "ready",
};

/* A decimal number in [lo, hi] with nothing else around it. */
static int parse_number(const char *s, int lo, int hi, int *out)
{
    int v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > hi)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static sm_boot_event parse_line(const char *line, int *value)
{
    static const char tag[] = SM_BOOT_CHANNEL_TAG " ";
    if (strncmp(line, tag, sizeof tag - 1) != 0)
        return SM_BOOT_EVENT_NONE;
    const char *rest = line + sizeof tag - 1;
    if (strcmp(rest, "start") == 0) {
        *value = 0;
        return SM_BOOT_EVENT_START;
    }
    if (strcmp(rest, "ready") == 0) {
        *value = 0;
        return SM_BOOT_EVENT_READY;
    }
    if (strncmp(rest, "exit ", 5) == 0 && parse_number(rest + 5, 0, 255, value) == 0)
        return SM_BOOT_EVENT_EXIT;
    if (strncmp(rest, "signal ", 7) == 0 && parse_number(rest + 7, 1, 64, value) == 0)
        return SM_BOOT_EVENT_SIGNAL;
    return SM_BOOT_EVENT_NONE;
}

sm_boot_event sm_boot_channel_feed(sm_boot_channel *c, uint8_t byte, int *value)
{
    if (byte == '\r')
        return SM_BOOT_EVENT_NONE;  /* a tty in cooked mode adds these */
    if (byte != '\n') {
        if (c->len + 1 >= sizeof c->line)
            c->overflow = 1;
        else
            c->line[c->len++] = (char)byte;
        return SM_BOOT_EVENT_NONE;
    }
    c->line[c->len] = '\0';
    sm_boot_event ev = c->overflow ? SM_BOOT_EVENT_NONE : parse_line(c->line, value);
    c->len = 0;
    c->overflow = 0;
    return ev;
}

int sm_boot_channel_format(char *buf, size_t len, sm_boot_event ev, int value)
{
    if (ev == SM_BOOT_EVENT_START || ev == SM_BOOT_EVENT_READY)
        return snprintf(buf, len, "%s %s\n", SM_BOOT_CHANNEL_TAG, event_word[ev]);
    return snprintf(buf, len, "%s %s %d\n", SM_BOOT_CHANNEL_TAG, event_word[ev], value);
}
