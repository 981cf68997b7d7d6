#include "vmm/machine.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/i8042.h"
#include "devices/mmio_bus.h"
#include "devices/pio_bus.h"
#include "devices/serial_8250.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/event_loop.h"
#include "util/log.h"
#include "util/log_rotate.h"
#include "vmm/console_tail.h"
#include "memory/guest_mem.h"
#include "vmm/hv.h"
#include "vmm/machine_int.h"
#include "vmm/virtio_set.h"
#include "vmm/x86_boot.h"
#include "vmm/x86_mptable.h"

#define COM1_BASE 0x3f8
#define COM1_IRQ 4
#define COM2_BASE 0x2f8
#define COM2_IRQ 3
#define TAIL_LINES 12

static void kick_handler(int sig)
{
    (void)sig;
}

/* The vCPU kick signal only needs to interrupt KVM_RUN; its handler does
 * nothing. Installed once per process. */
static void install_kick_handler(void)
{
    struct sigaction sa = {.sa_handler = kick_handler};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGRTMIN, &sa, NULL);
}

/* Called with m->lock held, which also guards `started`. */
void sm_machine_kick_all(sm_machine *m)
{
    for (unsigned i = 0; i < m->ncpus; i++) {
        sm_hv_vcpu_kick(m->vcpus[i].vcpu);
        if (m->vcpus[i].started)
            pthread_kill(m->vcpus[i].thread, SIGRTMIN);
    }
}

/* The first reason to stop wins; later ones are side effects of stopping. */
static void request_stop(sm_machine *m, sm_machine_end why, int code, int sig,
                         const char *error)
{
    pthread_mutex_lock(&m->lock);
    if (!m->stopping) {
        m->stopping = true;
        m->result.stop = why;
        m->result.exit_code = code;
        m->result.signal = sig;
        m->result.t_stop_ns = sm_now_ns();
        if (error)
            snprintf(m->result.error, sizeof m->result.error, "%s", error);
        pthread_cond_broadcast(&m->stopped_cond);
        pthread_cond_broadcast(&m->park_cond);
        if (m->quota_started)
            pthread_cond_broadcast(&m->quota_cond);
    }
    sm_machine_kick_all(m);
    pthread_mutex_unlock(&m->lock);
}

static bool is_stopping(sm_machine *m)
{
    pthread_mutex_lock(&m->lock);
    bool s = m->stopping;
    pthread_mutex_unlock(&m->lock);
    return s;
}

static void write_all(int fd, const uint8_t *buf, size_t len)
{
    while (fd >= 0 && len) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* a closed or full console must not stop the guest */
        buf += n;
        len -= (size_t)n;
    }
}

static void console_output(void *ctx, const uint8_t *buf, size_t len)
{
    serial_port *p = ctx;
    sm_console_tail_add(&p->m->tail, buf, len);
    if (p->m->console)
        sm_console_pump_write(p->m->console, buf, len);
    else
        write_all(p->m->console_fd, buf, len);
}

/* on_ready does file work (the worker writes and closes its ready fd)
 * that a vCPU thread, confined to running the guest, may not do: the
 * device thread calls it. */
static void ready_event(void *ctx, uint32_t events)
{
    (void)events;
    sm_machine *m = ctx;
    uint64_t n;
    if (read(m->ready_efd, &n, sizeof n) == (ssize_t)sizeof n)
        m->on_ready(m->ready_ctx);
}

static int watch_ready(sm_machine *m)
{
    if (!m->on_ready)
        return 0;
    m->ready_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->ready_efd < 0)
        return sm_fail(errno, "eventfd: %s", strerror(errno));
    return sm_event_loop_add(m->loop, m->ready_efd, EPOLLIN, ready_event, m);
}

static void announce_ready(sm_machine *m)
{
    uint64_t one = 1;
    if (m->ready_efd < 0 || write(m->ready_efd, &one, sizeof one) != (ssize_t)sizeof one)
        m->on_ready(m->ready_ctx);
}

static void channel_output(void *ctx, const uint8_t *buf, size_t len)
{
    serial_port *p = ctx;
    const sm_guest_status_reader *r = &p->m->status;
    for (size_t i = 0; i < len && r->feed; i++) {
        int value = 0;
        sm_guest_status st = r->feed(r->state, buf[i], &value);
        if (st == SM_GUEST_STARTED && !p->m->t_init_ns)
            p->m->t_init_ns = sm_now_ns();
        else if (st == SM_GUEST_READY && !p->m->ready_sent && p->m->on_ready) {
            p->m->ready_sent = true;
            announce_ready(p->m);
        }
        else if (st == SM_GUEST_EXITED)
            request_stop(p->m, SM_MACHINE_EXITED, value, 0, NULL);
        else if (st == SM_GUEST_KILLED)
            request_stop(p->m, SM_MACHINE_EXITED, -1, value, NULL);
    }
}

static void serial_irq(void *ctx, bool level)
{
    serial_port *p = ctx;
    if (sm_hv_irq_line(p->m->hv, p->irq, level) < 0)
        sm_debug("serial irq %u: %s", p->irq, sm_error_text());
}

static void guest_reset(void *ctx)
{
    request_stop(ctx, SM_MACHINE_RESET, -1, 0, NULL);
}

static int add_serial(sm_machine *m, serial_port *p, uint16_t base, uint32_t irq,
                      void (*output)(void *, const uint8_t *, size_t))
{
    sm_serial_ops ops = {.output = output, .irq = serial_irq};
    p->m = m;
    p->irq = irq;
    sm_serial_init(&p->uart, &ops, p);
    return sm_pio_register(&m->pio, base, 8, sm_serial_pio, &p->uart);
}

/* A console that is a file is a log a guest could fill without end: it
 * gets a budget and a thread that keeps it (console_pump.h). A terminal
 * or a pipe is written directly, as before. */
static int start_console(sm_machine *m)
{
    struct stat st;
    if (m->console_fd < 0 || fstat(m->console_fd, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    return sm_console_pump_start(m->console_fd, sm_log_max_bytes(), &m->console);
}

static void stop_console(sm_machine *m)
{
    sm_console_pump_stop(m->console);
    m->console = NULL;
}

static int add_devices(sm_machine *m)
{
    m->kbd = (sm_i8042){.reset = guest_reset, .ctx = m};
    int err = start_console(m);
    if (!err)
        err = add_serial(m, &m->com1, COM1_BASE, COM1_IRQ, console_output);
    if (!err)
        err = add_serial(m, &m->com2, COM2_BASE, COM2_IRQ, channel_output);
    if (!err)
        err = sm_pio_register(&m->pio, SM_I8042_COMMAND_PORT, 1, sm_i8042_pio, &m->kbd);
    return err;
}

static void handle_io(sm_machine *m, const sm_hv_exit *e)
{
    for (uint32_t i = 0; i < e->io.count; i++) {
        uint8_t *data = e->io.data + (size_t)i * e->io.size;
        if (!sm_pio_dispatch(&m->pio, e->io.port, data, e->io.size, e->io.write))
            sm_debug("unclaimed port %s %#x", e->io.write ? "write" : "read", e->io.port);
    }
}

static void fail_vcpu(vcpu_thread *t, const char *what)
{
    char regs[512], msg[1024];
    sm_hv_vcpu_describe(t->vcpu, regs, sizeof regs);
    snprintf(msg, sizeof msg, "%s; %s", what, regs);
    request_stop(t->m, SM_MACHINE_FAILED, -1, 0, msg);
}

/* Handle one exit; returns false when this vCPU should stop running. */
static bool handle_exit(vcpu_thread *t, sm_hv_exit *e)
{
    char what[256];
    switch (e->kind) {
    case SM_HV_EXIT_IO:
        handle_io(t->m, e);
        return true;
    case SM_HV_EXIT_MMIO:
        if (e->mmio.len > 8 || !sm_mmio_dispatch(&t->m->mmio, e->mmio.addr, e->mmio.data,
                                                 e->mmio.len, e->mmio.write))
            sm_debug("unclaimed MMIO %s %#llx", e->mmio.write ? "write" : "read",
                     (unsigned long long)e->mmio.addr);
        return true;
    case SM_HV_EXIT_INTERRUPTED:
        return !is_stopping(t->m);
    case SM_HV_EXIT_SHUTDOWN:
        request_stop(t->m, SM_MACHINE_TRIPLE_FAULT, -1, 0, NULL);
        return false;
    case SM_HV_EXIT_SYSTEM_RESET:
        request_stop(t->m, SM_MACHINE_RESET, -1, 0, NULL);
        return false;
    case SM_HV_EXIT_INTERNAL:
        snprintf(what, sizeof what, "KVM internal error (suberror %llu: %s)",
                 (unsigned long long)e->detail,
                 e->detail == 1 ? "instruction emulation failed" : "see KVM documentation");
        break;
    case SM_HV_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof what, "KVM could not enter the guest (hardware reason %#llx)",
                 (unsigned long long)e->detail);
        break;
    default:
        snprintf(what, sizeof what, "unexpected KVM exit reason %u", e->raw_reason);
        break;
    }
    fail_vcpu(t, what);
    return false;
}

/* A vCPU parks here between runs while a pause is asked for, or its CPU
 * quota is spent: outside KVM_RUN, with the exit it last took fully
 * handled. */
static void park_if_paused(sm_machine *m)
{
    pthread_mutex_lock(&m->lock);
    if ((m->pausing || m->throttled) && !m->stopping) {
        m->parked++;
        pthread_cond_broadcast(&m->park_cond);
        while ((m->pausing || m->throttled) && !m->stopping)
            pthread_cond_wait(&m->park_cond, &m->lock);
        m->parked--;
    }
    pthread_mutex_unlock(&m->lock);
}

static void vcpu_done(sm_machine *m)
{
    pthread_mutex_lock(&m->lock);
    m->live_vcpus--;
    pthread_cond_broadcast(&m->park_cond);
    pthread_mutex_unlock(&m->lock);
}

int sm_machine_pause(sm_machine *m)
{
    pthread_mutex_lock(&m->lock);
    m->pausing = true;
    sm_machine_kick_all(m);
    while (!m->stopping && m->parked < m->live_vcpus)
        pthread_cond_wait(&m->park_cond, &m->lock);
    bool stopping = m->stopping;
    if (stopping)
        m->pausing = false;
    pthread_mutex_unlock(&m->lock);
    return stopping ? sm_fail(ESHUTDOWN, "the VM is stopping") : 0;
}

void sm_machine_resume(sm_machine *m)
{
    pthread_mutex_lock(&m->lock);
    m->pausing = m->frozen;
    pthread_cond_broadcast(&m->park_cond);
    pthread_mutex_unlock(&m->lock);
}

int sm_machine_freeze(sm_machine *m)
{
    int err = sm_machine_pause(m);
    if (!err) {
        pthread_mutex_lock(&m->lock);
        m->frozen = true;
        pthread_mutex_unlock(&m->lock);
    }
    return err;
}

void sm_machine_thaw(sm_machine *m)
{
    pthread_mutex_lock(&m->lock);
    m->frozen = false;
    pthread_mutex_unlock(&m->lock);
    sm_machine_resume(m);
}

static void *vcpu_main(void *arg)
{
    vcpu_thread *t = arg;
    sigset_t only_kick;
    sigfillset(&only_kick);
    sigdelset(&only_kick, SIGRTMIN);
    /* A blocked SIGSYS kills without a word: the worker's seccomp report
     * must reach the log from a vCPU too. */
    sigdelset(&only_kick, SIGSYS);
    pthread_sigmask(SIG_SETMASK, &only_kick, NULL);
    /* The name tells a log (and top -H) which thread did what. */
    char name[16];
    snprintf(name, sizeof name, "sm-vcpu%u", t->index);
    pthread_setname_np(pthread_self(), name);
    if (t->m->on_vcpu_thread && t->m->on_vcpu_thread() < 0) {
        request_stop(t->m, SM_MACHINE_FAILED, -1, 0, sm_error_text());
        vcpu_done(t->m);
        return NULL;
    }
    sm_hv_exit e;
    while (!is_stopping(t->m)) {
        park_if_paused(t->m);
        if (sm_hv_vcpu_run(t->vcpu, &e) < 0) {
            request_stop(t->m, SM_MACHINE_FAILED, -1, 0, sm_error_text());
            break;
        }
        if (!handle_exit(t, &e))
            break;
    }
    vcpu_done(t->m);
    return NULL;
}

static int check_memory(const sm_machine_config *cfg, const sm_x86_boot_input *in)
{
    uint64_t min_mib;
    int err = sm_x86_boot_min_mib(in, &min_mib);
    if (err)
        return err;
    if (cfg->memory_mib < min_mib)
        return sm_fail(EINVAL, "guest memory of %u MiB is too small: this kernel and "
                       "initramfs need at least %llu MiB", cfg->memory_mib,
                       (unsigned long long)min_mib);
    return 0;
}

static int create_vcpus(sm_machine *m, const sm_x86_boot_entry *entry)
{
    m->vcpus = calloc(m->ncpus, sizeof *m->vcpus);
    if (!m->vcpus)
        return sm_fail(ENOMEM, "out of memory");
    for (unsigned i = 0; i < m->ncpus; i++) {
        m->vcpus[i] = (vcpu_thread){.m = m, .index = i};
        int err = sm_hv_vcpu_create(m->hv, i, m->ncpus, &m->vcpus[i].vcpu);
        if (err)
            return err;
    }
    /* Only the boot CPU starts at the entry; the others wait for the
     * guest's INIT/SIPI in the in-kernel LAPIC. A restored guest has its
     * registers from the snapshot instead. */
    if (!entry)
        return 0;
    return sm_hv_vcpu_set_entry32(m->vcpus[0].vcpu, entry->rip, entry->start_info);
}

static int map_memory(sm_machine *m)
{
    for (unsigned i = 0; i < m->mem.nregions; i++) {
        const sm_gmem_region *r = &m->mem.regions[i];
        int err = sm_hv_map_ram(m->hv, i, r->gpa, r->host, r->size);
        if (err)
            return err;
    }
    return 0;
}

static int wire_irq(void *hv, int fd, uint32_t irq)
{
    return sm_hv_irqfd(hv, fd, irq);
}

static int wire_notify(void *hv, int fd, uint64_t addr, uint32_t len, uint64_t value)
{
    return sm_hv_ioeventfd(hv, fd, addr, len, value);
}

static int add_virtio(sm_machine *m, const sm_machine_config *cfg)
{
    sm_virtio_env env = {.mem = &m->mem, .loop = m->loop,
                         .wiring = {wire_irq, wire_notify, m->hv}};
    snprintf(m->cmdline, sizeof m->cmdline, "%s", cfg->cmdline);
    return sm_virtio_set_create(&m->virtio, cfg, &env, &m->mmio, m->cmdline,
                                sizeof m->cmdline);
}

/* Everything between guest RAM and the vCPUs: the hypervisor, RAM mapped
 * into it, interrupt controllers, device thread and devices. */
static int build_platform(sm_machine *m, const sm_machine_config *cfg)
{
    int err = sm_hv_open(cfg->hv_device, &m->hv);
    if (!err)
        err = map_memory(m);
    if (!err)
        err = sm_hv_create_platform(m->hv);
    if (!err)
        err = sm_event_loop_new(&m->loop);
    if (!err)
        err = watch_ready(m);
    if (!err)
        err = add_devices(m);
    if (!err)
        err = add_virtio(m, cfg);
    return err;
}

/* The same machine as the snapshot's, its guest resumed from there. */
static int build_restored(sm_machine *m, const sm_machine_config *cfg)
{
    m->restored = true;
    m->ready_sent = true;  /* the agent listens already; see restore_finish */
    const sm_machine_origin *o = cfg->restore;
    int err = sm_gmem_init(&m->mem, (uint64_t)cfg->memory_mib << 20);
    if (!err)
        err = o->map_memory(o->ctx, &m->mem);
    if (!err)
        err = build_platform(m, cfg);
    if (!err)
        err = create_vcpus(m, NULL);
    if (!err)
        err = sm_machine_restore_state(m, o->state);
    return err;
}

static int build(sm_machine *m, const sm_machine_config *cfg)
{
    if (cfg->restore)
        return build_restored(m, cfg);
    sm_x86_boot_input in = {
        .kernel = cfg->kernel, .kernel_len = cfg->kernel_len,
        .kernel_name = cfg->kernel_name, .initrd = cfg->initrd,
        .initrd_len = cfg->initrd_len, .cmdline = m->cmdline, .cpus = cfg->cpus};
    sm_x86_boot_entry entry;
    int err = check_memory(cfg, &in);
    if (!err)
        err = sm_gmem_init(&m->mem, (uint64_t)cfg->memory_mib << 20);
    if (!err)
        err = build_platform(m, cfg);
    if (!err)
        err = sm_x86_boot_load(&m->mem, &in, &entry);
    if (!err)
        err = create_vcpus(m, &entry);
    return err;
}

int sm_machine_create(const sm_machine_config *cfg, sm_machine **out)
{
    if (cfg->cpus == 0 || cfg->cpus > SM_MPTABLE_MAX_CPUS)
        return sm_fail(EINVAL, "%u vCPUs requested: supermachine supports 1 to %u",
                       cfg->cpus, SM_MPTABLE_MAX_CPUS);
    sm_machine *m = calloc(1, sizeof *m);
    if (!m)
        return sm_fail(ENOMEM, "out of memory");
    m->console_fd = cfg->console_fd;
    m->ncpus = cfg->cpus;
    m->quota_milli = cfg->cpu_quota_milli < cfg->cpus * 1000 ? cfg->cpu_quota_milli : 0;
    m->status = cfg->status;
    m->on_ready = cfg->on_ready;
    m->ready_ctx = cfg->ready_ctx;
    m->ready_efd = -1;
    m->on_vcpu_thread = cfg->on_vcpu_thread;
    m->on_device_thread = cfg->on_device_thread;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->stopped_cond, NULL);
    pthread_cond_init(&m->park_cond, NULL);
    int err = build(m, cfg);
    if (err) {
        sm_machine_destroy(m);
        return err;
    }
    *out = m;
    return 0;
}

static void finish_result(sm_machine *m, sm_machine_result *res)
{
    *res = m->result;
    res->t_init_ns = m->t_init_ns;
    sm_console_tail_lines(&m->tail, TAIL_LINES, res->console_tail, sizeof res->console_tail);
    res->kernel_panicked = sm_console_tail_contains(&m->tail, "Kernel panic");
}

/* A guest that powers off right after writing has its last packets in
 * the rings, and the kick that announced them may still wait in the
 * device thread's queue: serve them before the devices go. */
static void drain_devices(sm_machine *m)
{
    sm_virtio_device *devs[SM_VIRTIO_MAX_DEVICES];
    unsigned n = sm_virtio_set_list(&m->virtio, devs);
    for (unsigned i = 0; i < n; i++)
        sm_virtio_mmio_drain(devs[i]);
}

int sm_machine_run(sm_machine *m, sm_machine_result *res)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_kick_handler);
    int err = sm_event_loop_start(m->loop, m->on_device_thread);
    m->result.t_entry_ns = sm_now_ns();
    for (unsigned i = 0; i < m->ncpus && !err; i++) {
        vcpu_thread *t = &m->vcpus[i];
        pthread_mutex_lock(&m->lock);
        int rc = pthread_create(&t->thread, NULL, vcpu_main, t);
        t->started = rc == 0;
        m->live_vcpus += t->started;
        pthread_mutex_unlock(&m->lock);
        if (rc)
            err = sm_fail(rc, "cannot start vCPU thread %u: %s", i, strerror(rc));
    }
    if (!err)
        err = sm_machine_quota_start(m);
    if (err)
        request_stop(m, SM_MACHINE_FAILED, -1, 0, sm_error_text());
    else if (m->restored)
        sm_machine_restore_finish(m);
    pthread_mutex_lock(&m->lock);
    while (!m->stopping)
        pthread_cond_wait(&m->stopped_cond, &m->lock);
    sm_machine_kick_all(m);
    pthread_mutex_unlock(&m->lock);
    sm_machine_quota_join(m);
    for (unsigned i = 0; i < m->ncpus; i++)
        if (m->vcpus[i].started)
            pthread_join(m->vcpus[i].thread, NULL);
    stop_console(m);   /* the file is whole once the machine has stopped */
    drain_devices(m);
    sm_event_loop_stop(m->loop);
    finish_result(m, res);
    return err;
}

uint64_t sm_machine_entry_ns(const sm_machine *m)
{
    return m->result.t_entry_ns;
}

void sm_machine_stop(sm_machine *m)
{
    request_stop(m, SM_MACHINE_STOPPED, -1, 0, NULL);
}

void sm_machine_destroy(sm_machine *m)
{
    if (!m)
        return;
    for (unsigned i = 0; m->vcpus && i < m->ncpus; i++)
        sm_hv_vcpu_destroy(m->vcpus[i].vcpu);
    free(m->vcpus);
    sm_event_loop_stop(m->loop);
    sm_virtio_set_destroy(&m->virtio);
    sm_event_loop_free(m->loop);
    if (m->ready_efd >= 0)
        close(m->ready_efd);
    stop_console(m);
    sm_hv_close(m->hv);
    if (m->com1.m)
        sm_serial_destroy(&m->com1.uart);
    if (m->com2.m)
        sm_serial_destroy(&m->com2.uart);
    sm_gmem_free(&m->mem);
    pthread_cond_destroy(&m->stopped_cond);
    pthread_cond_destroy(&m->park_cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}
