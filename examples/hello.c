/*
 * hello: the smallest program that embeds supermachine.
 *
 *   hello [IMAGE [COMMAND [ARG...]]]
 *
 * Opens IMAGE (pulled from its registry the first time; default
 * alpine:3.20), boots a microVM from it, runs COMMAND inside (default
 * "uname -a", which shows the VM's own kernel), prints what the command
 * wrote and exits with its exit status.
 *
 * Build:  cc hello.c $(pkg-config --cflags --libs supermachine) -o hello
 */
#include <stdio.h>
#include <supermachine.h>

/* Every supermachine call returns 0 or a negative errno; the sentence
 * from sm_last_error() says what failed and what to do about it. */
static int fail(const char *what)
{
    fprintf(stderr, "hello: %s: %s\n", what, sm_last_error());
    return 125;
}

int main(int argc, char **argv)
{
    const char *reference = argc > 1 ? argv[1] : "alpine:3.20";
    const char *const uname[] = {"uname", "-a", NULL};
    const char *const *command = argc > 2 ? (const char *const *)argv + 2 : uname;

    /* The image, pulled if the local store lacks it, with its root
     * filesystem built (once: later opens reuse it). NULL: default options. */
    sm_image *image;
    if (sm_image_open(reference, NULL, &image) < 0)
        return fail(reference);

    /* A microVM of its own, in a worker process of its own. NULL config:
     * 1 vCPU, 128 MiB, user-mode networking. Returns once the VM is ready
     * to run commands. */
    sm_vm *vm;
    if (sm_vm_start(image, NULL, &vm) < 0) {
        int status = fail("starting the VM");
        sm_image_close(image);
        return status;
    }

    /* from_image: run COMMAND with the image's environment, working
     * directory and user, as 'docker exec' would. With no fds or callbacks
     * set, the output is kept in the result. */
    sm_exec exec = {.size = sizeof exec, .argv = command, .from_image = 1};
    sm_exec_result result = {.size = sizeof result};
    int status;
    if (sm_vm_exec(vm, &exec, &result) < 0) {
        status = fail("running the command");
    } else {
        fwrite(result.stdout_data, 1, result.stdout_len, stdout);
        fwrite(result.stderr_data, 1, result.stderr_len, stderr);
        status = result.exit_status;    /* the code, or 128+N for signal N */
        sm_exec_result_free(&result);
    }

    /* Stopping ends the worker and removes the VM's runtime files. */
    sm_vm_stop(vm);
    sm_image_close(image);
    return status;
}
