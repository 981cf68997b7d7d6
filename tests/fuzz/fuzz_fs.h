/* Scratch files for the harnesses that need a file system. */
#ifndef SM_TESTS_FUZZ_FUZZ_FS_H
#define SM_TESTS_FUZZ_FUZZ_FS_H

#include <stddef.h>

/* A new directory for this process, on tmpfs where there is one (blob
 * stores fsync every file), removed with all it holds at exit. */
const char *fuzz_scratch(const char *name);

/* Remove everything below `path`, whatever modes a run left on it. */
void fuzz_empty(const char *path);

/* The input as a file of that name in this process's own scratch
 * directory; returns its path (valid until the next call). */
const char *fuzz_input_file(const char *name, const void *data, size_t len);

/* The path of another file beside it (valid until the next call). */
const char *fuzz_beside_input(const char *name);

/* The input as a NUL-terminated string (free it); NULL without memory. */
char *fuzz_string(const void *data, size_t len);

/* Write `dir`/`rel` (its parent must exist); aborts on failure. */
void fuzz_put(const char *dir, const char *rel, const void *data, size_t len);

#endif
