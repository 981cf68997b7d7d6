/* The worker's control socket (<dir>/control.sock) and, for a detached
 * VM, the supervisor of its main process. One line per request:
 *   RUN                      start the process whose EXEC frame the
 *                            library left in <dir>/main.exec; its output
 *                            goes to the VM's log, its exit status to
 *                            <dir>/exit, and its end stops the VM
 *   STOP <signo> <timeout_ms>  send signo to the process, give it
 *                            timeout_ms to end, then stop the VM
 * Answers: "OK\n" or "ERR <sentence>\n". */
#ifndef SM_LIB_WORKER_CONTROL_H
#define SM_LIB_WORKER_CONTROL_H

#include "vmm/machine.h"

typedef struct sm_worker_control sm_worker_control;

int sm_worker_control_start(const char *dir, sm_machine *m, sm_worker_control **out);
/* Stops serving; the main process (if any) is over once the VM stops. */
void sm_worker_control_stop(sm_worker_control *c);

#endif
