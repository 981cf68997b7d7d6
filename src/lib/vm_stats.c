/* sm_vm_get_stats: what a VM costs its host, read from its worker's
 * /proc entries (the worker holds the guest's RAM, its vCPU threads and
 * its device threads, so that is the VM's whole footprint). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/abi.h"
#include "lib/vm_int.h"
#include "lib/vm_registry.h"
#include "supermachine.h"
#include "util/error.h"

/* utime and stime, fields 14 and 15 of /proc/PID/stat, after the command
 * name (which may hold spaces and parentheses: read from the last ')'). */
static int cpu_ns(pid_t pid, uint64_t *out)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                     &st) != 2)
        return -EBADMSG;
    long hz = sysconf(_SC_CLK_TCK);
    *out = (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
    return 0;
}

/* "Key:  value" from a /proc/PID file; 0 if absent. */
static uint64_t proc_value(pid_t pid, const char *file, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    FILE *f = fopen(path, "re");
    uint64_t v = 0;
    size_t klen = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && line[klen] == ':')
            v = strtoull(line + klen + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

int sm_vm_get_stats(sm_vm *vm, sm_vm_stats *stats)
{
    if (!vm || !stats)
        return sm_fail(EINVAL, "sm_vm_get_stats: vm and stats are required");
    int err = sm_abi_check(stats, "sm_vm_stats");
    if (err)
        return err;
    if (vm->detached && vm->pid <= 0)
        sm_vm_read_worker_pid(vm);
    /* Read once: another thread stopping the VM takes it (vm_handle.c). */
    pid_t pid = __atomic_load_n(&vm->pid, __ATOMIC_ACQUIRE);
    if (!sm_vm_alive(vm->dir) || pid <= 0)
        return sm_fail(ESRCH, "VM %.12s is not running", vm->id);
    sm_vm_stats s = {.size = sizeof s};
    err = cpu_ns(pid, &s.cpu_ns);
    if (err)
        return sm_fail(-err, "cannot read the VM worker's CPU time: %s", strerror(-err));
    s.rss_bytes = proc_value(pid, "status", "VmRSS") * 1024;
    s.read_bytes = proc_value(pid, "io", "read_bytes");
    s.write_bytes = proc_value(pid, "io", "write_bytes");
    return SM_ABI_OUT(stats, &s, sm_vm_stats);
}
