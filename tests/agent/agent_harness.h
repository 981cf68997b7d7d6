/* A host-side agent for tests: sm_agent_serve in a child process,
 * listening on a Unix socket in a temporary directory. */
#ifndef SM_TESTS_AGENT_HARNESS_H
#define SM_TESTS_AGENT_HARNESS_H

#include <sys/types.h>
#include <sys/un.h>

#include "agent/client.h"

typedef struct harness {
    pid_t pid;
    char dir[64];
    struct sockaddr_un addr;
} harness;

/* Start the agent; abort the test on failure. */
void harness_start(harness *h);
void harness_stop(harness *h);
/* A fresh connected socket, and a client connection over one. */
int harness_socket(harness *h);
sm_agent_conn *harness_conn(harness *h);
/* The agent process's peak RSS in KiB (VmHWM). */
long harness_peak_rss_kib(harness *h);

#endif
