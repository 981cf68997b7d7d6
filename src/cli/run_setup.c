/* What run's and create's options make: the image opened (pulled if
 * need be, with progress on a terminal), the VM's config and its main
 * process. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "cli/run.h"

static void show_pull(const sm_pull_progress *p, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\r\033[Kpulling %s: %u/%u layers, %.1f/%.1f MiB", p->name,
            p->layers_done, p->layers, (double)p->bytes_done / (1 << 20),
            (double)p->bytes / (1 << 20));
    if (p->finished)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void show_building(const char *name, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "building root filesystem for %s\n", name);
}

static void show_step(const char *step, void *ctx)
{
    const sm_run_opts *o = ctx;
    if (!strcmp(step, "booting"))
        fprintf(stderr, "booting %s once, to bake a snapshot that later runs resume\n",
                o->image);
}

int sm_run_open_image(const sm_run_opts *o, sm_image **img)
{
    if (!o->image)
        return 0;
    int show = !o->quiet && isatty(STDERR_FILENO);
    sm_pull_options po = {.size = sizeof po, .progress = show ? show_pull : NULL,
                          .insecure_registries = sm_cli_config_get()->insecure,
                          .mirrors = sm_cli_config_get()->mirrors,
                          .platform = o->platform};
    sm_image_open_options io = {.size = sizeof io, .pull_policy = o->pull, .pull = &po,
                                .building = show ? show_building : NULL};
    return sm_image_open(o->image, &io, img);
}

sm_vm_config sm_run_vm_config(sm_run_opts *o)
{
    int show = !o->quiet && isatty(STDERR_FILENO);
    return (sm_vm_config){
        .snapshot = o->snapshot, .no_snapshot = o->no_snapshot,
        .progress = show ? show_step : NULL, .progress_ctx = o,
        .size = sizeof(sm_vm_config), .memory_mib = o->memory_mib, .cpus = o->cpus,
        .cpu_quota_milli = o->cpu_quota_milli, .read_only = o->read_only,
        .tmpfs = o->tmpfs, .ntmpfs = o->ntmpfs,
        .hostname = o->hostname, .network = o->network, .netns_path = o->netns_path,
        .ports = o->ports,
        .nports = o->nports, .shares = o->shares, .nshares = o->nshares,
        .upper_disk = o->upper_disk, .name = o->name, .detached = o->detach,
        .auto_remove = o->rm, .root_dir = o->rootfs};
}

sm_exec sm_run_exec_config(const sm_run_opts *o)
{
    return (sm_exec){
        .size = sizeof(sm_exec), .from_image = 1, .cmd = (const char *const *)o->cmd,
        .entrypoint = o->entrypoint, .has_entrypoint = o->has_entrypoint,
        .env = (const char *const *)o->env, .cwd = o->workdir, .user = o->user,
        .pty = o->tty, .has_stdin_fd = o->interactive, .stdin_fd = STDIN_FILENO,
        .stdout_fd = STDOUT_FILENO, .stderr_fd = STDERR_FILENO};
}

/* docker run -d IMAGE, nothing overridden: the library starts the image's
 * process itself, and resumes it serving once it was baked. */
int sm_run_image_process(const sm_run_opts *o)
{
    return o->image && !o->cmd && !o->has_entrypoint && !o->nenv && !o->workdir && !o->user &&
           !o->tty && !o->interactive;
}
