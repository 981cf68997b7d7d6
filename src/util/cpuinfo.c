#include "util/cpuinfo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool has_word(const char *line, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(line, word); p; p = strstr(p + 1, word))
        if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

bool sm_cpuinfo_has_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return false;
    /* Long enough for every flag a current CPU lists (about 1.5 KiB). */
    static _Thread_local char line[8192];
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) == 0) {
            found = has_word(line, flag);
            break;
        }
    }
    fclose(f);
    return found;
}

/* The fields of a processor's block that name the CPU. */
static const char *const identity_keys[] = {"vendor_id", "cpu family", "model\t",
                                            "stepping", "flags"};

static bool is_identity_line(const char *line)
{
    for (size_t i = 0; i < sizeof identity_keys / sizeof identity_keys[0]; i++)
        if (!strncmp(line, identity_keys[i], strlen(identity_keys[i])))
            return true;
    return false;
}

static void append(char *out, size_t len, size_t *used, const char *line)
{
    int n = snprintf(out + *used, len - *used, "%s", line);
    if (n > 0)
        *used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

int sm_cpuinfo_identity(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path ? path : "/proc/cpuinfo", "re");
    if (!f)
        return -errno;
    static _Thread_local char line[8192];
    size_t used = 0;
    out[0] = '\0';
    /* The first processor's block ends at its first empty line. */
    while (fgets(line, sizeof line, f) && line[0] != '\n')
        if (is_identity_line(line))
            append(out, len, &used, line);
    fclose(f);
    return used ? 0 : -ENODATA;
}
