/*
 * bench/restore: the supermachine half of bench/restore (the script beside
 * it runs this, runs QEMU's half and prints the table). Three steps, each
 * its own invocation so the script can interleave them with QEMU's:
 *
 *   restore snapshot DIR [IMAGE]   boot IMAGE (default localhost/runtest:plain)
 *                                  detached with user networking, start
 *                                  `httpd -f -p 80 -h /var/www` as its main
 *                                  process, wait until it serves, snapshot
 *                                  into DIR (live), stop it
 *   restore run DIR COUNT [FIRST]  COUNT restores from DIR, each with its
 *                                  own published port; even-numbered ones
 *                                  (counting from FIRST) time an exec of
 *                                  `echo hi`, odd ones an HTTP GET
 *   restore memory DIR N           N VMs restored from DIR at once, each
 *                                  answering HTTP; RSS and PSS of each worker
 *
 * Output, one fact a line: "sample METRIC SECONDS", "mem RSS_KIB PSS_KIB",
 * "info TEXT", "fail TEXT". Metrics (all CLOCK_MONOTONIC):
 *   open->entry    the worker opens the snapshot -> first vCPU entry
 *                  (the worker's restore.timing)
 *   open->ready    the worker opens the snapshot -> the agent answers
 *   start->entry   sm_vm_start called -> first vCPU entry (worker spawn too)
 *   start->return  sm_vm_start called -> it returns (agent answered)
 *   start->exec    sm_vm_start called -> first byte of `echo hi`'s stdout
 *                  (sm_vm_exec right after sm_vm_start returns)
 *   start->http    sm_vm_start called -> first byte of the answer to
 *                  `GET /` on the published port 127.0.0.1:P -> guest 80,
 *                  through the VM's slirp (connected after it returns)
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "supermachine.h"

#define DEFAULT_IMAGE "localhost/runtest:plain"
#define MAX_VMS 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){.tv_nsec = ms * 1000000L}, NULL);
}

static int fail(const char *what)
{
    printf("fail %s: %s\n", what, sm_last_error());
    fflush(stdout);
    return 1;
}

/* Prints the last lines of a file of the VM's directory as "info" lines:
 * what the worker or guest said before something went wrong. */
static void dump_tail(const sm_vm *vm, const char *name)
{
    char path[4200], buf[4096];
    snprintf(path, sizeof path, "%s/%s", sm_vm_dir(vm), name);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 3000 ? size - 3000 : 0, SEEK_SET);
    printf("info --- last of %s ---\n", path);
    while (fgets(buf, sizeof buf, f))
        printf("info %s%s", buf, strchr(buf, '\n') ? "" : "\n");
    fclose(f);
}

static uint16_t free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    uint16_t port = 0;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* One GET on a connected socket: 0 once a first byte of the answer came. */
static int get_first_byte(int fd)
{
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    char c;
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        return -1;
    return read(fd, &c, 1) == 1 ? 0 : -1;
}

/* The time of the first byte of `GET /` on 127.0.0.1:port. slirp accepts
 * a forwarded connection before the guest does, so a refusal inside shows
 * up as an immediate EOF: that is retried, for up to 60 s. */
static double http_first_byte(uint16_t port)
{
    double end = now() + 60;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    while (now() < end) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                 get_first_byte(fd) == 0;
        double t = now();
        if (fd >= 0)
            close(fd);
        if (ok)
            return t;
        sleep_ms(1);
    }
    return 0;
}

/* ---- snapshot ---------------------------------------------------------- */

static int wait_serving(sm_vm *vm)
{
    for (int i = 0; i < 6000; i++) {
        int fd;
        if (sm_vm_connect(vm, 80, &fd) == 0) {
            int ok = get_first_byte(fd) == 0;
            close(fd);
            if (ok)
                return 0;
        }
        sleep_ms(10);
    }
    return -1;
}

/* A detached VM of the image, with httpd as its main process, serving
 * through a published port, as QEMU's guest is when it is saved: both
 * snapshots then hold a guest that has answered over its NIC once. */
static int boot_serving(const sm_image *img, sm_vm **vm)
{
    double t = now();
    sm_port p = {.host_port = (uint16_t)(20000 + getpid() % 20000), .guest_port = 80};
    sm_vm_config c = {.size = sizeof c, .network = SM_NETWORK_USER, .detached = 1,
                      .no_snapshot = 1, .start_timeout_ms = 600000, .ports = &p,
                      .nports = 1};
    if (sm_vm_start(img, &c, vm))
        return fail("booting the VM to snapshot");
    printf("info booted in %.1f s\n", now() - t);
    const char *argv[] = {"httpd", "-f", "-p", "80", "-h", "/var/www", NULL};
    if (sm_vm_start_main(*vm, &(sm_exec){.size = sizeof(sm_exec), .argv = argv,
                                         .from_image = 1}))
        return fail("starting httpd");
    if (wait_serving(*vm) || !http_first_byte(p.host_port)) {
        printf("fail httpd in the VM never answered\n");
        dump_tail(*vm, "console.log");
        return 1;
    }
    return 0;
}

static int take_snapshot(const char *dir, const char *ref)
{
    sm_image *img;
    sm_vm *vm = NULL;
    if (sm_image_open(ref, &(sm_image_open_options){.size = sizeof(sm_image_open_options),
                                                     .pull_policy = SM_PULL_NEVER}, &img))
        return fail("opening the image");
    int err = boot_serving(img, &vm);
    double t = now();
    if (!err && sm_vm_snapshot(vm, dir)) {
        err = fail("sm_vm_snapshot");
        dump_tail(vm, "worker.log");
    } else if (!err) {
        printf("info snapshot taken in %.3f s (httpd serving)\n", now() - t);
    }
    if (vm) {
        char id[65];
        snprintf(id, sizeof id, "%s", sm_vm_id(vm));
        sm_vm_stop(vm);
        sm_vm_remove(id, 1);
    }
    sm_image_close(img);
    return err;
}

/* ---- restores ---------------------------------------------------------- */

static int start_restored(const char *dir, uint16_t port, sm_vm **vm)
{
    sm_port p = {.host_port = port, .guest_port = 80};
    sm_vm_config c = {.size = sizeof c, .snapshot = dir, .network = SM_NETWORK_USER,
                      .ports = &p, .nports = 1, .start_timeout_ms = 120000};
    return sm_vm_start(NULL, &c, vm);
}

/* The worker's "<open_ns> <entry_ns> <ready_ns>", in seconds. */
static int read_timing(const sm_vm *vm, double t[3])
{
    char path[4200];
    unsigned long long v[3];
    snprintf(path, sizeof path, "%s/restore.timing", sm_vm_dir(vm));
    FILE *f = fopen(path, "r");
    int n = f ? fscanf(f, "%llu %llu %llu", &v[0], &v[1], &v[2]) : 0;
    if (f)
        fclose(f);
    if (n != 3)
        return -1;
    for (int i = 0; i < 3; i++)
        t[i] = (double)v[i] / 1e9;
    return 0;
}

/* Notes the time of the first byte of output in *(double *)ctx. */
static int on_out(void *ctx, const void *data, size_t len)
{
    double *first = ctx;
    (void)data;
    if (len && !*first)
        *first = now();
    return 0;
}

static double exec_first_byte(sm_vm *vm)
{
    double first = 0;
    sm_exec_result r = {.size = sizeof r};
    const char *argv[] = {"echo", "hi", NULL};
    int err = sm_vm_exec(vm, &(sm_exec){.size = sizeof(sm_exec), .argv = argv,
                                        .on_stdout = on_out, .ctx = &first}, &r);
    sm_exec_result_free(&r);
    return err || r.exit_status ? 0 : first;
}

static int restore_once(const char *dir, int http)
{
    uint16_t port = free_port();
    sm_vm *vm;
    double t0 = now();
    if (start_restored(dir, port, &vm))
        return fail("restoring");
    double t_ret = now(), t[3];
    double got = http ? http_first_byte(port) : exec_first_byte(vm);
    int ok = got > 0 && read_timing(vm, t) == 0;
    if (ok) {
        printf("sample open->entry %.6f\nsample open->ready %.6f\n", t[1] - t[0], t[2] - t[0]);
        printf("sample start->entry %.6f\nsample start->return %.6f\n", t[1] - t0, t_ret - t0);
        printf("sample start->%s %.6f\n", http ? "http" : "exec", got - t0);
    } else {
        printf("fail restored VM: %s\n", got > 0 ? "no restore.timing"
                                                 : http ? "no HTTP answer" : "exec failed");
        dump_tail(vm, "worker.log");
        dump_tail(vm, "console.log");
    }
    fflush(stdout);
    sm_vm_stop(vm);
    return !ok;
}

static int run_restores(const char *dir, int count, int first)
{
    int failed = 0;
    for (int i = first; i < first + count && failed < 5; i++)
        failed += restore_once(dir, i % 2);
    return failed ? 1 : 0;
}

/* ---- memory ------------------------------------------------------------ */

/* The worker process of a VM: the pid it wrote into the VM's directory. */
static pid_t find_worker(const sm_vm *vm)
{
    char path[4200];
    int pid = 0;
    snprintf(path, sizeof path, "%s/worker.pid", sm_vm_dir(vm));
    FILE *f = fopen(path, "r");
    if (f && fscanf(f, "%d", &pid) != 1)
        pid = 0;
    if (f)
        fclose(f);
    return pid;
}

static int rollup(pid_t pid, long *rss, long *pss)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
    FILE *f = fopen(path, "r");
    *rss = *pss = -1;
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "Rss: %ld", rss);
        sscanf(line, "Pss: %ld", pss);
    }
    if (f)
        fclose(f);
    return *rss >= 0 && *pss >= 0 ? 0 : -1;
}

static int stop_all(sm_vm **vms, int n)
{
    for (int i = 0; i < n; i++)
        sm_vm_stop(vms[i]);
    return 0;
}

static int measure_memory(const char *dir, int n)
{
    sm_vm *vms[MAX_VMS];
    int started = 0, err = 0;
    while (started < n && !err) {
        uint16_t port = free_port();
        if (start_restored(dir, port, &vms[started]))
            return fail("restoring for memory") + stop_all(vms, started);
        if (!http_first_byte(port))
            err = printf("fail a VM restored for memory never answered HTTP\n") > 0;
        started++;
    }
    for (int i = 0; i < started && !err; i++) {
        pid_t pid = find_worker(vms[i]);
        long rss, pss;
        if (!pid || rollup(pid, &rss, &pss))
            err = printf("fail no worker process (or smaps_rollup) for %s\n",
                         sm_vm_dir(vms[i])) > 0;
        else
            printf("mem %ld %ld\n", rss, pss);
    }
    return err + stop_all(vms, started);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "snapshot"))
        return take_snapshot(argv[2], argc > 3 ? argv[3] : DEFAULT_IMAGE);
    if (argc >= 4 && !strcmp(argv[1], "run"))
        return run_restores(argv[2], atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 0);
    if (argc == 4 && !strcmp(argv[1], "memory") && atoi(argv[3]) > 0 &&
        atoi(argv[3]) <= MAX_VMS)
        return measure_memory(argv[2], atoi(argv[3]));
    fprintf(stderr, "usage: restore snapshot DIR [IMAGE] | run DIR COUNT [FIRST] | "
                    "memory DIR N (N <= %d)\n", MAX_VMS);
    return 2;
}
