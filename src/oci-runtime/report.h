/* One-line answers between the runtime's own processes (create and its
 * keeper, exec and its stand-in, start and the keeper's control socket):
 * "ok[ DETAIL]" or "error SENTENCE". And the sentence buffers the
 * checks fill. */
#ifndef SM_OCI_REPORT_H
#define SM_OCI_REPORT_H

#include <stddef.h>

void sm_oci_report(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads up to the first newline (or the end); 0 if the line says "ok",
 * else -1. line holds what came, without its newline. */
int sm_oci_read_report(int fd, char *line, size_t len);
/* The sentence of a reply that is not "ok": after "error ", or `fallback`
 * when nothing came. */
const char *sm_oci_report_why(const char *line, const char *fallback);

/* A sentence into err; returns -1. */
int sm_oci_refuse(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
