#include "lib/abi.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"
#include "util/zero.h"

/* "sm_exec" -> "SM_EXEC_INIT", the macro that sets the size. */
static void init_macro(const char *type, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "SM_%s_INIT", type + (strncmp(type, "sm_", 3) ? 0 : 3));
    for (size_t i = 0; i < n && i < len; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

static int check_size(size_t size, const char *type)
{
    if (size >= sizeof(size_t))
        return 0;
    char init[96];
    init_macro(type, init, sizeof init);
    return sm_fail(EINVAL, "%s.size is %zu: set it to sizeof(%s), as %s does", type, size, type,
                   init);
}

int sm_abi_check(const void *s, const char *type)
{
    size_t size;
    memcpy(&size, s, sizeof size);
    return check_size(size, type);
}

int sm_abi_copy_in(void *dst, size_t dst_size, const void *src, const char *type)
{
    size_t size;
    memcpy(&size, src, sizeof size);
    int err = check_size(size, type);
    if (err)
        return err;
    if (size > dst_size && !sm_all_zero((const char *)src + dst_size, size - dst_size))
        return sm_fail(E2BIG, "%s has fields this library does not know (it takes %zu bytes, "
                       "the caller's has %zu): the program was built against a newer "
                       "supermachine.h than the library it runs with", type, dst_size, size);
    memset(dst, 0, dst_size);
    memcpy(dst, src, size < dst_size ? size : dst_size);
    return 0;
}

int sm_abi_copy_out(void *dst, const void *src, size_t src_size, const char *type)
{
    size_t size;
    memcpy(&size, dst, sizeof size);
    int err = check_size(size, type);
    if (err)
        return err;
    size_t n = size < src_size ? size : src_size;
    memcpy((char *)dst + sizeof size, (const char *)src + sizeof size, n - sizeof size);
    return 0;
}
