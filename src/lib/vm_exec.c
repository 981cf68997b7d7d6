/* Exec and files in a VM: the agent protocol over a vsock stream. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent/client.h"
#include "agent/protocol.h"
#include "lib/abi.h"
#include "lib/exec_spec.h"
#include "lib/vm_int.h"
#include "lib/vm_record.h"
#include "supermachine.h"
#include "util/error.h"

#define DEFAULT_MAX_OUTPUT (64u << 20)
#define DEFAULT_MAX_READ (1u << 30)

typedef struct out_buf {
    char *data;
    size_t len, cap, max;
    int *truncated;
} out_buf;

struct sm_exec_handle {
    /* Guards `finished` and the agent objects, so that a signal sent from
     * another thread never meets them freed. */
    pthread_mutex_t lock;
    bool finished;
    sm_agent_conn *conn;
    sm_agent_exec *exec;
    sm_exec ex;
    out_buf out, err;
    int truncated;
};

static int stage_files(sm_agent_conn *c, const sm_exec *ex)
{
    for (unsigned i = 0; i < ex->nfiles; i++) {
        const sm_file *f = &ex->files[i];
        sm_agent_file_req req = {.path = f->path, .mode = f->mode, .mkdirs = true,
                                 .uid = -1, .gid = -1};
        int err = sm_agent_write_file(c, &req, f->data, f->len);
        if (err)
            return sm_fail_context(err, "staging %s", f->path);
    }
    return 0;
}

static int begin(sm_vm *vm, sm_exec_handle *h)
{
    sm_exec_spec spec;
    int err = sm_vm_agent_open(vm, &h->conn);
    if (!err)
        err = sm_exec_spec_build(vm, h->conn, &h->ex, h->ex.pty, &spec);
    if (err)
        return err;
    if (!spec.argv[0])
        err = sm_fail(EINVAL, "exec: argv needs at least a program name");
    if (!err)
        err = stage_files(h->conn, &h->ex);
    sm_agent_exec_req req = sm_exec_spec_request(&h->ex, &spec);
    if (!err)
        err = sm_agent_exec_start(h->conn, &req, &h->exec);
    /* The image's own process (docker run, not exec): `ps` shows it. */
    if (!err && h->ex.from_image && !h->ex.argv && vm->owned)
        sm_vm_record_command(vm, (const char *const *)spec.argv);
    sm_exec_spec_free(&spec);
    return err;
}

int sm_vm_exec_start(sm_vm *vm, const sm_exec *exec, sm_exec_handle **out)
{
    sm_exec_handle *h = calloc(1, sizeof *h);
    if (!h)
        return sm_fail(ENOMEM, "out of memory");
    pthread_mutex_init(&h->lock, NULL);
    int err = SM_ABI_IN(&h->ex, exec, sm_exec);
    if (!err && (!h->ex.argv || !h->ex.argv[0]) && !h->ex.from_image)
        err = sm_fail(EINVAL, "exec: argv needs at least a program name");
    /* Its agent cannot answer: fail now rather than at a timeout. */
    if (!err && sm_vm_paused(vm))
        err = sm_fail(EBUSY, "VM %.12s is paused; unpause it first", sm_vm_id(vm));
    if (!err)
        err = begin(vm, h);
    if (err) {
        sm_exec_free(h);
        return err;
    }
    *out = h;
    return 0;
}

/* Runs op on the agent exec unless it has ended. */
#define WHILE_RUNNING(h, call)                                                    \
    do {                                                                          \
        pthread_mutex_lock(&(h)->lock);                                           \
        int err_ = (h)->finished ? sm_fail(ESRCH, "the command has ended") : (call); \
        pthread_mutex_unlock(&(h)->lock);                                         \
        return err_;                                                              \
    } while (0)

int sm_exec_signal(sm_exec_handle *h, int signo)
{
    WHILE_RUNNING(h, sm_agent_exec_signal(h->exec, signo, false));
}

int sm_exec_resize(sm_exec_handle *h, uint16_t rows, uint16_t cols)
{
    WHILE_RUNNING(h, sm_agent_exec_resize(h->exec, rows, cols));
}

int sm_exec_write_stdin(sm_exec_handle *h, const void *data, size_t len)
{
    WHILE_RUNNING(h, sm_agent_exec_write_stdin(h->exec, data, len));
}

int sm_exec_close_stdin(sm_exec_handle *h)
{
    WHILE_RUNNING(h, sm_agent_exec_close_stdin(h->exec));
}

static int keep(void *ctx, const void *data, size_t len)
{
    out_buf *b = ctx;
    size_t take = b->len >= b->max ? 0 : b->max - b->len < len ? b->max - b->len : len;
    if (take < len)
        *b->truncated = 1;
    if (b->len + take + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + take + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -ENOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, take);
    b->len += take;
    b->data[b->len] = '\0';
    return 0;
}

static int keep_out(void *ctx, const void *data, size_t len)
{
    return keep(&((sm_exec_handle *)ctx)->out, data, len);
}

static int keep_err(void *ctx, const void *data, size_t len)
{
    return keep(&((sm_exec_handle *)ctx)->err, data, len);
}

static sm_agent_exec_io io_for(sm_exec_handle *h)
{
    const sm_exec *ex = &h->ex;
    sm_agent_exec_io io = SM_AGENT_EXEC_IO_INIT;
    size_t max = ex->max_output ? ex->max_output : DEFAULT_MAX_OUTPUT;
    h->out = (out_buf){.max = max, .truncated = &h->truncated};
    h->err = (out_buf){.max = max, .truncated = &h->truncated};
    if (ex->on_stdout || ex->on_stderr) {
        io.on_stdout = (sm_agent_sink)ex->on_stdout;
        io.on_stderr = (sm_agent_sink)ex->on_stderr;
        io.ctx = ex->ctx;
    } else if (ex->stdout_fd > 0 || ex->stderr_fd > 0) {
        io.stdout_fd = ex->stdout_fd > 0 ? ex->stdout_fd : -1;
        io.stderr_fd = ex->stderr_fd > 0 ? ex->stderr_fd : -1;
    } else {
        io.on_stdout = keep_out;
        io.on_stderr = keep_err;
        io.ctx = h;
    }
    io.stdin_data = ex->stdin_data;
    io.stdin_len = ex->stdin_len;
    io.stdin_fd = ex->has_stdin_fd ? ex->stdin_fd : -1;
    return io;
}

static void fill_result(sm_exec_handle *h, const sm_agent_exit *x, sm_exec_result *out)
{
    sm_exec_result res = {.size = sizeof res}, *r = &res;
    r->signal = x->termsig;
    r->exit_status = x->termsig ? 128 + x->termsig : x->status;
    r->timed_out = x->timed_out;
    r->peak_rss_kib = x->maxrss_kib;
    r->stdout_data = h->out.data;
    r->stdout_len = h->out.len;
    r->stderr_data = h->err.data;
    r->stderr_len = h->err.len;
    r->output_truncated = h->truncated;
    h->out.data = h->err.data = NULL;
    SM_ABI_OUT(out, r, sm_exec_result);
}

int sm_exec_wait(sm_exec_handle *h, sm_exec_result *result)
{
    if (result && sm_abi_check(result, "sm_exec_result"))
        return -EINVAL;
    sm_agent_exec_io io = io_for(h);
    sm_agent_exit x;
    int err = sm_agent_exec_wait(h->exec, &io, &x);
    if (!err && result)
        fill_result(h, &x, result);
    pthread_mutex_lock(&h->lock);
    h->finished = true;
    sm_agent_exec_free(h->exec);
    sm_agent_conn_close(h->conn);
    h->exec = NULL;
    h->conn = NULL;
    pthread_mutex_unlock(&h->lock);
    free(h->out.data);
    free(h->err.data);
    h->out.data = h->err.data = NULL;
    return err;
}

void sm_exec_free(sm_exec_handle *h)
{
    if (!h)
        return;
    if (!h->finished) {
        sm_agent_exec_free(h->exec);
        sm_agent_conn_close(h->conn);
    }
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int sm_vm_exec(sm_vm *vm, const sm_exec *exec, sm_exec_result *result)
{
    sm_exec_handle *h;
    /* A result the rule refuses is refused before the command runs. */
    int err = result ? sm_abi_check(result, "sm_exec_result") : 0;
    if (!err)
        err = sm_vm_exec_start(vm, exec, &h);
    if (err)
        return err;
    err = sm_exec_wait(h, result);
    sm_exec_free(h);
    return err;
}

void sm_exec_result_free(sm_exec_result *r)
{
    if (!r)
        return;
    free(r->stdout_data);
    free(r->stderr_data);
    r->stdout_data = r->stderr_data = NULL;
}

int sm_vm_write_file(sm_vm *vm, const char *path, const void *data, size_t len,
                     uint32_t mode, int flags)
{
    sm_agent_conn *c;
    int err = sm_vm_agent_open(vm, &c);
    if (err)
        return err;
    sm_agent_file_req req = {.path = path, .mode = mode, .mkdirs = flags & SM_FILE_MKDIRS,
                             .uid = -1, .gid = -1};
    err = sm_agent_write_file(c, &req, data, len);
    sm_agent_conn_close(c);
    return err;
}

int sm_vm_read_file(sm_vm *vm, const char *path, size_t max, void **data, size_t *len)
{
    sm_agent_conn *c;
    int err = sm_vm_agent_open(vm, &c);
    if (err)
        return err;
    uint8_t *buf = NULL;
    err = sm_agent_read_file_buf(c, path, max ? max : DEFAULT_MAX_READ, &buf, len);
    sm_agent_conn_close(c);
    if (!err)
        *data = buf;
    return err;
}

int sm_vm_stat(sm_vm *vm, const char *path, sm_file_stat *st)
{
    sm_agent_conn *c;
    int err = sm_abi_check(st, "sm_file_stat");
    if (!err)
        err = sm_vm_agent_open(vm, &c);
    if (err)
        return err;
    sm_agent_stat_reply r;
    err = sm_agent_stat(c, path, false, &r);
    sm_agent_conn_close(c);
    sm_file_stat out = {.size = sizeof out, .mode = r.mode, .uid = r.uid, .gid = r.gid,
                        .bytes = r.size, .mtime = r.mtime};
    return err ? err : SM_ABI_OUT(st, &out, sm_file_stat);
}
