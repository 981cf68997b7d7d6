/*
 * The guest's console on its way to a log file. A vCPU that takes a byte
 * from the serial port only writes it into a pipe (its seccomp list has
 * write and nothing that opens or renames a file); a thread of its own
 * moves the bytes on to the file and keeps it under its budget
 * (util/log_rotate.h), so a guest printing forever fills at most that
 * much of the host's disk.
 */
#ifndef SM_VMM_CONSOLE_PUMP_H
#define SM_VMM_CONSOLE_PUMP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sm_console_pump sm_console_pump;

/* Start moving bytes to fd (the caller keeps it open until stop), which
 * holds at most max bytes with its ".1". */
int sm_console_pump_start(int fd, uint64_t max, sm_console_pump **out);

/* From a vCPU: hand bytes over. Blocks while the pipe is full, as a slow
 * UART would: nothing the guest printed is lost. */
void sm_console_pump_write(sm_console_pump *p, const uint8_t *buf, size_t len);

/* Everything handed over reaches the file; the thread ends. */
void sm_console_pump_stop(sm_console_pump *p);

#endif
