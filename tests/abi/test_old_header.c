/* A program built against the 0.1 header (supermachine-0.1.h, not the
 * current one) run with the current library: its smaller structs still
 * start a VM and run a command, and a struct from a header newer than the
 * library is refused rather than cut. `host` runs the refusals, which
 * start nothing; `vm` boots one VM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supermachine-0.1.h"

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

static int failed;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if (!ok) {
        printf("  last error: %s\n", sm_last_error());
        failed = 1;
    }
}

/* The 0.1 config with a field appended by some later header. */
typedef struct later_config {
    sm_vm_config known;
    char added_since[512];
    uint64_t future_option;
} later_config;

static void host_cases(void)
{
    sm_vm *vm = NULL;
    later_config later = {.known = {.size = sizeof later}, .future_option = 1};
    check(sm_vm_start(NULL, &later.known, &vm) == -E2BIG && !vm,
          "an option this library does not know is refused");
    check(strstr(sm_last_error(), "does not know") != NULL, "and the sentence says why");
    sm_vm_config unsized = {.memory_mib = 128};
    check(sm_vm_start(NULL, &unsized, &vm) == -EINVAL && !vm, "size 0 is refused");
    check(strstr(sm_last_error(), "SM_VM_CONFIG_INIT") != NULL, "and names the macro");
}

static void vm_cases(void)
{
    sm_vm_config c = {.size = sizeof c, .memory_mib = 128, .start_timeout_ms = 600000};
    sm_vm *vm;
    int err = sm_vm_start(NULL, &c, &vm);
    check(err == 0, "a 0.1 sm_vm_config starts a VM");
    if (err)
        return;
    sm_exec ex = {.size = sizeof ex, .argv = ARGV("sh", "-c", "echo hi; echo there >&2; exit 3")};
    sm_exec_result r = {.size = sizeof r};
    err = sm_vm_exec(vm, &ex, &r);
    check(err == 0 && r.exit_status == 3, "a 0.1 sm_exec runs, its exit status comes back");
    check(err == 0 && r.stdout_data && !strcmp(r.stdout_data, "hi\n") && r.stderr_data &&
              !strcmp(r.stderr_data, "there\n"),
          "a 0.1 sm_exec_result gets the output");
    check(r.size == sizeof r, "its size is left as the caller's");
    sm_exec_result_free(&r);
    /* A result the size rule refuses is refused before the command runs. */
    sm_exec_result unsized = {.exit_status = 0};
    sm_exec touch = {.size = sizeof touch, .argv = ARGV("touch", "/tmp/ran")};
    check(sm_vm_exec(vm, &touch, &unsized) == -EINVAL, "an unsized result is refused");
    sm_exec look = {.size = sizeof look, .argv = ARGV("test", "-e", "/tmp/ran")};
    sm_exec_result seen = {.size = sizeof seen};
    check(sm_vm_exec(vm, &look, &seen) == 0 && seen.exit_status == 1,
          "and its command never ran");
    sm_exec_result_free(&seen);
    check(sm_vm_stop(vm) == 0, "the VM stops");
}

int main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "host") && strcmp(argv[1], "vm"))) {
        fprintf(stderr, "usage: test_old_header host|vm\n");
        return 2;
    }
    if (!strcmp(argv[1], "host"))
        host_cases();
    else
        vm_cases();
    return failed;
}
