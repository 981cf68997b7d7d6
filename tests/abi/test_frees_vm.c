/* The frees of what the library hands out about a running VM (exec
 * results, a streamed exec's handle, process lists, file contents, the
 * VM list with it running), filled by a real VM. Run under valgrind's
 * memcheck (meson: abi_frees_vm): the unit suite's ASan build cannot
 * start VMs, and a leak or double free in one of these frees fails here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supermachine.h"

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

static int failed;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAIL", what);
    if (!ok) {
        printf("  last error: %s\n", sm_last_error());
        failed = 1;
    }
}

static void exec_results(sm_vm *vm)
{
    sm_exec ex = SM_EXEC_INIT;
    ex.argv = ARGV("sh", "-c", "echo out; echo err >&2");
    sm_exec_result r = SM_EXEC_RESULT_INIT;
    check(sm_vm_exec(vm, &ex, &r) == 0 && r.stdout_data && !strcmp(r.stdout_data, "out\n") &&
              r.stderr_data && !strcmp(r.stderr_data, "err\n"),
          "an exec's kept output");
    sm_exec_result_free(&r);
    sm_exec_result_free(&r);   /* freed results are empty: twice is harmless */

    sm_exec_handle *h = NULL;
    sm_exec_result w = SM_EXEC_RESULT_INIT;
    check(sm_vm_exec_start(vm, &ex, &h) == 0 && sm_exec_wait(h, &w) == 0 &&
              w.stdout_data && !strcmp(w.stdout_data, "out\n"),
          "a started exec's result");
    sm_exec_result_free(&w);
    sm_exec_free(h);
}

static void lists_and_files(sm_vm *vm)
{
    /* The list holds the image's processes, not PID 1's: one to list. */
    sm_exec sleeper = SM_EXEC_INIT;
    sleeper.argv = ARGV("sleep", "600");
    sm_exec_handle *h = NULL;
    check(sm_vm_exec_start(vm, &sleeper, &h) == 0, "a command to list");
    sm_vm_process **ps = NULL;
    size_t n = 0, sleeping = 0;
    check(sm_vm_processes(vm, &ps, &n) == 0, "the VM's process list");
    for (size_t i = 0; i < n; i++)
        sleeping += ps[i]->size == sizeof(sm_vm_process) && strstr(ps[i]->command, "sleep");
    check(sleeping == 1, "has the command in it");
    sm_vm_processes_free(ps, n);
    if (h) {
        sm_exec_signal(h, 9);
        sm_exec_wait(h, NULL);
        sm_exec_free(h);
    }

    static const char text[] = "round trip\n";
    void *data = NULL;
    size_t len = 0;
    check(sm_vm_write_file(vm, "/tmp/f", text, sizeof text - 1, 0644, 0) == 0 &&
              sm_vm_read_file(vm, "/tmp/f", 1 << 20, &data, &len) == 0 &&
              len == sizeof text - 1 && !memcmp(data, text, len),
          "a file's bytes");
    sm_free(data);

    sm_vm_info **list = NULL;
    check(sm_vm_list(&list, &n) == 0 && n == 1 && list[0]->running, "the VM list");
    sm_vm_list_free(list, n);
}

int main(void)
{
    sm_vm_config c = SM_VM_CONFIG_INIT;
    c.memory_mib = 128;
    c.start_timeout_ms = 600000;
    sm_vm *vm = NULL;
    check(sm_vm_start(NULL, &c, &vm) == 0, "a VM starts");
    if (!vm)
        return 1;
    exec_results(vm);
    lists_and_files(vm);
    check(sm_vm_stop(vm) == 0, "the VM stops");
    return failed;
}
