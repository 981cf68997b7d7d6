/* A file that appears at its final path whole or not at all. */
#ifndef SM_ROOTFS_OUTFILE_H
#define SM_ROOTFS_OUTFILE_H

#include <limits.h>

typedef struct sm_outfile {
    int fd;
    char path[PATH_MAX];    /* where to write it meanwhile (may be /proc/self/fd/N) */
    char named[PATH_MAX];   /* a named temporary file, when O_TMPFILE is missing */
} sm_outfile;

/* Creates an invisible file in the directory of `final`. With O_TMPFILE a
 * crash leaves nothing behind at all. */
int sm_outfile_create(sm_outfile *o, const char *final);
/* Syncs it and puts it at `final`, replacing what was there. */
int sm_outfile_commit(sm_outfile *o, const char *final);
void sm_outfile_abort(sm_outfile *o);

#endif
