/*
 * The boot channel: a line protocol that sm-init writes on the second
 * serial port (COM2) to tell the VMM that it started and how the command
 * ended. The vsock agent supersedes it for everything beyond booting.
 *
 *   "SM1 start\n"          sm-init reached user space
 *   "SM1 ready\n"          no command given: the agent listens on vsock
 *   "SM1 exit <0-255>\n"   the command exited with this code
 *   "SM1 signal <1-64>\n"  the command was killed by this signal
 *
 * The guest is untrusted: the parser takes any bytes and reports only
 * well-formed lines.
 */
#ifndef SM_AGENT_BOOT_CHANNEL_H
#define SM_AGENT_BOOT_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

/* The command to run travels in the initramfs, NUL-separated, so that any
 * bytes and any length survive (the kernel command line would not). */
#define SM_BOOT_ARGV_PATH "/sm/argv"

#define SM_BOOT_CHANNEL_TAG "SM1"
#define SM_BOOT_CHANNEL_LINE_MAX 64

typedef enum sm_boot_event {
    SM_BOOT_EVENT_NONE = 0,
    SM_BOOT_EVENT_START,
    SM_BOOT_EVENT_EXIT,
    SM_BOOT_EVENT_SIGNAL,
    SM_BOOT_EVENT_READY,
} sm_boot_event;

typedef struct sm_boot_channel {
    char line[SM_BOOT_CHANNEL_LINE_MAX];
    size_t len;
    int overflow;            /* the current line is too long: drop it */
} sm_boot_channel;

/* Feed one byte; returns an event when it completes a valid line, with its
 * number (exit code or signal) in *value. */
sm_boot_event sm_boot_channel_feed(sm_boot_channel *c, uint8_t byte, int *value);

/* Format a line for the guest side; returns its length. */
int sm_boot_channel_format(char *buf, size_t len, sm_boot_event ev, int value);

#endif
