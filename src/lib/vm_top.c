/* sm_vm_processes: the guest's processes (docker top), read from the
 * guest's /proc through the agent's file reads. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supermachine.h"
#include "util/error.h"

/* USER_HZ: what /proc counts CPU time in, 100 on every Linux x86 kernel. */
#define GUEST_HZ 100u

static char *read_text(sm_vm *vm, const char *path)
{
    void *data = NULL;
    size_t len = 0;
    return sm_vm_read_file(vm, path, 1u << 20, &data, &len) == 0 ? data : NULL;
}

/* Fields of /proc/PID/stat after the command name, which may hold spaces
 * and parentheses: parsed from the last ')'. */
static int parse_stat(const char *text, sm_vm_process *p)
{
    const char *close = strrchr(text, ')');
    unsigned long long ut, st;
    long rss;
    if (!close || sscanf(close + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
                         "%*d %*d %*d %*d %*d %*d %*u %*u %ld", &p->state, &p->ppid, &ut, &st,
                         &rss) != 5)
        return -1;
    p->cpu_ns = (ut + st) * (1000000000ull / GUEST_HZ);
    p->rss_bytes = rss > 0 ? (uint64_t)rss * 4096 : 0;
    return 0;
}

static void read_uid(sm_vm *vm, const char *dir, sm_vm_process *p)
{
    char path[64];
    snprintf(path, sizeof path, "%s/status", dir);
    char *text = read_text(vm, path);
    const char *line = text ? strstr(text, "\nUid:") : NULL;
    if (line)
        p->uid = (uint32_t)strtoul(line + 5, NULL, 10);
    free(text);
}

/* The command line, NULs as spaces; a kernel thread has none: [name]. */
static void read_command(sm_vm *vm, const char *dir, const char *stat, sm_vm_process *p)
{
    char path[64];
    snprintf(path, sizeof path, "%s/cmdline", dir);
    void *data = NULL;
    size_t len = 0;
    if (sm_vm_read_file(vm, path, sizeof p->command - 1, &data, &len) == 0 && len) {
        char *c = data;
        for (size_t i = 0; i + 1 < len; i++)
            c[i] = c[i] ? c[i] : ' ';
        snprintf(p->command, sizeof p->command, "%.*s", (int)len, c);
    } else {
        const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
        if (open && close > open)
            snprintf(p->command, sizeof p->command, "[%.*s]", (int)(close - open - 1), open + 1);
    }
    free(data);
}

static int one(sm_vm *vm, int pid, sm_vm_process *p)
{
    char dir[32], path[64];
    snprintf(dir, sizeof dir, "/proc/%d", pid);
    snprintf(path, sizeof path, "%s/stat", dir);
    char *stat = read_text(vm, path);
    memset(p, 0, sizeof *p);
    p->size = sizeof *p;
    p->pid = pid;
    int err = stat && parse_stat(stat, p) == 0 ? 0 : -1;
    if (!err) {
        read_uid(vm, dir, p);
        read_command(vm, dir, stat, p);
    }
    free(stat);
    return err;  /* a process that ended meanwhile is just left out */
}

void sm_vm_processes_free(sm_vm_process **list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        free(list[i]);
    free(list);
}

/* The process `pid` appended, if it is one of the image's: not the
 * kernel's threads (kthreadd and its children) nor supermachine's own
 * PID 1. -ENOMEM. */
static int add(sm_vm *vm, int pid, sm_vm_process ***list, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        sm_vm_process **more = realloc(*list, (*cap ? *cap * 2 : 16) * sizeof **list);
        if (!more)
            return -ENOMEM;
        *list = more;
        *cap = *cap ? *cap * 2 : 16;
    }
    sm_vm_process *p = malloc(sizeof *p);
    if (!p)
        return -ENOMEM;
    if (pid > 2 && one(vm, pid, p) == 0 && p->ppid != 2)
        (*list)[(*n)++] = p;
    else
        free(p);
    return 0;
}

int sm_vm_processes(sm_vm *vm, sm_vm_process ***out, size_t *count)
{
    if (!vm || !out || !count)
        return sm_fail(EINVAL, "sm_vm_processes: vm, out and count are required");
    if (sm_vm_paused(vm))
        return sm_fail(EBUSY, "VM %.12s is paused; unpause it first", sm_vm_id(vm));
    void *data;
    size_t len;
    int err = sm_vm_read_file(vm, "/proc", 1u << 20, &data, &len);
    if (err)
        return sm_fail_context(err, "listing the guest's processes");
    size_t cap = 0, n = 0;
    sm_vm_process **list = NULL;
    for (char *save, *name = strtok_r(data, "\n", &save); !err && name;
         name = strtok_r(NULL, "\n", &save))
        if (isdigit((unsigned char)name[0]))
            err = add(vm, atoi(name), &list, &n, &cap);
    free(data);
    if (err) {
        sm_vm_processes_free(list, n);
        return sm_fail(ENOMEM, "out of memory");
    }
    *out = list, *count = n;
    return 0;
}
