#include "util/size.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint64_t sm_parse_size(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return 0;
    static const char units[] = "kmgt";
    const char *u = *end ? strchr(units, *end | 0x20) : NULL;
    if (*end && (!u || (end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib"))))
        return 0;
    for (const char *p = units; u && p <= u; p++) {
        if (v > UINT64_MAX / 1024)
            return 0;
        v *= 1024;
    }
    return v;
}
