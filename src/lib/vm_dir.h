/* Each VM's runtime directory: its sockets and logs. */
#ifndef SM_LIB_VM_DIR_H
#define SM_LIB_VM_DIR_H

#include <stddef.h>

/* Remove it and what the VMM left in it (flat: sockets and logs). */
void sm_vm_dir_remove(const char *dir);

/* The last line of a log file in the directory, for error messages. */
void sm_vm_dir_last_line(const char *dir, const char *name, char *out, size_t len);

/* The decimal number a small file in the directory starts with (a pid);
 * -ENOENT when it is missing or holds none. */
int sm_vm_dir_read_number(const char *dir, const char *name, long *out);

#endif
