/*
 * The agent: the part of sm-init that serves the host's requests (exec,
 * files) over the protocol in src/agent/protocol.h. It builds with musl for
 * sm-init and with the host's libc for tests, which drive it over Unix
 * sockets.
 */
#ifndef SM_GUEST_AGENT_H
#define SM_GUEST_AGENT_H

/* Serve every connection accepted on listen_fd (a listening stream socket)
 * until a fatal error; returns only then, with a negative errno. One thread,
 * one epoll loop. It reaps every child of the process (PID 1 inherits
 * orphans), so run it in a process whose children are all its own. It
 * blocks SIGCHLD and SIGPIPE in the calling thread. */
int sm_agent_serve(int listen_fd);

/* A listening vsock socket on `port` for any CID; a negative errno on
 * failure. */
int sm_agent_listen_vsock(unsigned port);

/* sm-init's own "NAME=value" environment entry (set from the kernel
 * command line), or NULL: how host-specific settings reach commands. */
char *agent_inherited_env(const char *name);

#endif
