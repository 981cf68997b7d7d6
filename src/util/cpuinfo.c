#include "util/cpuinfo.h"

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
