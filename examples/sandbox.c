/*
 * sandbox: run untrusted shell code in a throw-away microVM.
 *
 *   sandbox IMAGE SCRIPT [SECONDS]
 *
 * Copies the host file SCRIPT into a fresh VM booted from IMAGE, runs it
 * with the image's sh as an unprivileged user (uid/gid 65534), with no
 * network, for at most SECONDS (default 10), and reports how it ended and
 * how much memory it used. The VM is gone afterwards: whatever the script
 * did to its root filesystem went with it.
 *
 * Exit status: the script's; 124 when it ran out of time (as timeout(1));
 * 125 when the sandbox itself failed.
 *
 * Build:  cc sandbox.c $(pkg-config --cflags --libs supermachine) -o sandbox
 */
#include <stdio.h>
#include <stdlib.h>
#include <supermachine.h>

#define GUEST_SCRIPT "/tmp/untrusted.sh"
#define MAX_SCRIPT (1 << 20)
#define MAX_OUTPUT (1 << 20)    /* a script that floods gets cut, not the host */

static int fail(const char *what)
{
    fprintf(stderr, "sandbox: %s: %s\n", what, sm_last_error());
    return 125;
}

/* The whole of a host file, or NULL (with a message). */
static char *read_script(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    char *data = malloc(MAX_SCRIPT + 1);
    *len = data ? fread(data, 1, MAX_SCRIPT + 1, f) : 0;
    int bad = !data || ferror(f) || *len > MAX_SCRIPT;
    fclose(f);
    if (bad) {
        fprintf(stderr, "sandbox: cannot read %s (at most %d bytes)\n", path, MAX_SCRIPT);
        free(data);
        return NULL;
    }
    return data;
}

/* Stage the script and run it; prints its output and a summary. */
static int run_script(sm_vm *vm, const char *script, size_t len, unsigned seconds)
{
    /* Files can also travel with the exec (sm_exec.files); a separate
     * write shows the file API. Mode 0644: the script is read, not run. */
    if (sm_vm_write_file(vm, GUEST_SCRIPT, script, len, 0644, SM_FILE_MKDIRS) < 0)
        return fail("copying the script in");

    const char *const argv[] = {"sh", GUEST_SCRIPT, NULL};
    sm_exec exec = {
        .size = sizeof exec,
        .argv = argv,
        .cwd = "/tmp",
        .uid = 65534, .gid = 65534,         /* nobody, whatever the image names it */
        .timeout_ms = seconds * 1000,       /* then its whole process group is killed */
        .max_output = MAX_OUTPUT,
    };
    sm_exec_result r = {.size = sizeof r};
    if (sm_vm_exec(vm, &exec, &r) < 0)
        return fail("running the script");

    fwrite(r.stdout_data, 1, r.stdout_len, stdout);
    fwrite(r.stderr_data, 1, r.stderr_len, stderr);
    fflush(stdout);
    fprintf(stderr, "sandbox: %s %d, peak memory %llu KiB%s\n",
            r.timed_out ? "timed out after" : r.signal ? "killed by signal" : "exit status",
            r.timed_out ? (int)seconds : r.signal ? r.signal : r.exit_status,
            (unsigned long long)r.peak_rss_kib,
            r.output_truncated ? ", output truncated" : "");
    int status = r.timed_out ? 124 : r.exit_status;
    sm_exec_result_free(&r);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: sandbox IMAGE SCRIPT [SECONDS]\n");
        return 125;
    }
    unsigned seconds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 10;
    if (seconds == 0 || seconds > 86400) {
        fprintf(stderr, "sandbox: SECONDS must be from 1 to 86400\n");
        return 125;
    }
    size_t len;
    char *script = read_script(argv[2], &len);
    if (!script)
        return 125;

    sm_image *image;
    if (sm_image_open(argv[1], NULL, &image) < 0) {
        free(script);
        return fail(argv[1]);
    }
    /* No network: the script cannot reach the host or the internet. */
    sm_vm_config config = {.size = sizeof config, .memory_mib = 128, .cpus = 1,
                           .network = SM_NETWORK_NONE};
    sm_vm *vm;
    int status;
    if (sm_vm_start(image, &config, &vm) < 0) {
        status = fail("starting the VM");
    } else {
        status = run_script(vm, script, len, seconds);
        sm_vm_stop(vm);
    }
    sm_image_close(image);
    free(script);
    return status;
}
