/* The one rule for the public API's extensible structs, which all start
 * with `size_t size` set by the caller (SM_..._INIT sets it), copied with
 * the semantics of Linux's copy_struct_from_user:
 *  - a smaller struct (a program built against an older header) is copied
 *    and the fields it lacks read as zero, each field's default;
 *  - a larger one (a newer header) is taken only if every byte past the
 *    fields this library knows is zero, else -E2BIG: an option the
 *    library cannot honour is never dropped without a word;
 *  - size 0, or too small to hold the size itself, is -EINVAL.
 * Output structs are filled the same way in reverse: as much of ours as
 * the caller's holds. Fields past ours (a newer header's) are left as they
 * were, which SM_..._INIT made zero: no write goes past what this library
 * knows, whatever a caller that forgot to set size left there. */
#ifndef SM_LIB_ABI_H
#define SM_LIB_ABI_H

#include <stddef.h>

/* The caller's struct at src (its size in its first field) into ours at
 * dst, of dst_size bytes. `type` names it for the error sentence. */
int sm_abi_copy_in(void *dst, size_t dst_size, const void *src, const char *type);

/* Ours at src (src_size bytes) into the caller's at dst, whose size is in
 * its first field, which keeps the caller's value. */
int sm_abi_copy_out(void *dst, const void *src, size_t src_size, const char *type);

/* Whether the caller's struct at s has a size the rule takes (before a
 * long call whose result it will receive). */
int sm_abi_check(const void *s, const char *type);

/* Both for a struct type: SM_ABI_IN(&ours, theirs, sm_exec). */
#define SM_ABI_IN(dst, src, type) sm_abi_copy_in((dst), sizeof(type), (src), #type)
#define SM_ABI_OUT(dst, src, type) sm_abi_copy_out((dst), (src), sizeof(type), #type)

#endif
