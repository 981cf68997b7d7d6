/* The VM handle, shared by the files of src/lib that implement it. */
#ifndef SM_LIB_VM_INT_H
#define SM_LIB_VM_INT_H

#include <sys/types.h>

struct sm_vm {
    pid_t pid;              /* the worker */
    int lifeline_fd;        /* its end closing tells the worker to stop */
    char dir[4096];
};

#endif
