/* The worker's control socket (<dir>/control.sock) and, for a detached
 * VM, the supervisor of its main process. One line per request:
 *   RUN                      start the process whose EXEC frame the
 *                            library left in <dir>/main.exec; its output
 *                            goes to the VM's log, its pid to
 *                            <dir>/main.pid, its exit status to
 *                            <dir>/exit, and its end stops the VM. It
 *                            outlives its agent connection (F_KEEP), so
 *                            it survives a snapshot and restore
 *   STOP <signo> <timeout_ms>  send signo to the process, give it
 *                            timeout_ms to end, then stop the VM
 *   ATTACH <pid>             supervise the kept main process <pid> of a
 *                            restored snapshot, as RUN does its own
 *   SNAPSHOT [<parent>]      a live snapshot into the two files the
 *                            request hands over (control_snapshot.h)
 * A request may carry open files (SCM_RIGHTS), at most
 * SM_WORKER_CONTROL_MAX_FDS; they are closed once it is answered.
 * Answers: "OK\n" or "ERR <sentence>\n". */
#ifndef SM_WORKER_CONTROL_H
#define SM_WORKER_CONTROL_H

#include "vmm/machine.h"

#define SM_WORKER_CONTROL_MAX_FDS 4

typedef struct sm_worker_control sm_worker_control;

/* restored_from: the snapshot the machine was restored from (a diff
 * snapshot's parent must be it); NULL: it was booted. */
int sm_worker_control_start(const char *dir, sm_machine *m, const char *restored_from,
                            sm_worker_control **out);
/* After a restore: supervise the main process that RUN started before the
 * snapshot (its pid is in <dir>/main.pid) as RUN does, logging its output
 * from now on and recording its exit status. -ESRCH when the guest has no
 * such process, -EBUSY when a main process is supervised already. */
int sm_worker_control_attach_main(sm_worker_control *c, uint32_t pid);
/* Stops serving; the main process (if any) is over once the VM stops. */
void sm_worker_control_stop(sm_worker_control *c);

#endif
