/*
 * supermachine._native: the CPython extension under the `supermachine`
 * package. It holds libsupermachine's handles and calls the library with
 * the GIL released; argument checking, defaults and the user's names are
 * the Python layer's (the package's .py files), so the C side takes canonical
 * values only: dicts with fixed keys, ints in milliseconds, lists of tuples.
 */
#ifndef SM_PY_NATIVE_H
#define SM_PY_NATIVE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdbool.h>

#include <supermachine.h>

/* ---- guard: a handle that threads use with the GIL released ----
 * The library frees a handle in sm_vm_stop, sm_image_close or
 * sm_pool_free, while other threads may be inside a call on it: every call
 * enters the guard first, and the handle is freed only once none is
 * inside. Entered and closed with the GIL held; waited on without it. */
typedef struct sm_py_guard {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned users;
    bool closed;
} sm_py_guard;

void sm_py_guard_init(sm_py_guard *g);
void sm_py_guard_destroy(sm_py_guard *g);
/* false once closed (the caller then raises). */
bool sm_py_guard_enter(sm_py_guard *g);
/* true for the last user out of a closed guard: the one to free it, when
 * the closer left that to the last user (sm_py_guard_close saw users). */
bool sm_py_guard_leave(sm_py_guard *g);
/* Marks it closed: true for the one caller that closed it; *users gets
 * the calls still inside. */
bool sm_py_guard_close(sm_py_guard *g, unsigned *users);
/* Blocks until no call is inside; call without the GIL. */
void sm_py_guard_wait_idle(sm_py_guard *g);
bool sm_py_guard_closed(sm_py_guard *g);

/* ---- errors ---- */
/* A failed library call: rc (negative errno) and the sentence that
 * sm_last_error() gave in the failing thread right after it. */
typedef struct sm_py_failure {
    int rc;
    char sentence[1024];
} sm_py_failure;

/* Records sm_last_error() when rc < 0; call right after the library call,
 * in the same thread, before any other library call. Returns rc. */
int sm_py_note(sm_py_failure *f, int rc);
/* Raises supermachine.Error (the subclass for f->rc's errno); NULL. */
PyObject *sm_py_raise(const sm_py_failure *f);
/* Raises supermachine.Error with our own errno and sentence; NULL. */
PyObject *sm_py_raise_errno(int err, const char *fmt, ...);
int sm_py_errors_init(void);

/* ---- values ---- */
/* Borrowed UTF-8 of a str in d[key] (NULL for None or absent); -1 and an
 * exception on another type. The dict keeps the str alive. */
int sm_py_dict_str(PyObject *d, const char *key, const char **out);
int sm_py_dict_u32(PyObject *d, const char *key, uint32_t *out);
int sm_py_dict_bool(PyObject *d, const char *key, int *out);
/* A NULL-terminated array of borrowed UTF-8 strings from a sequence of
 * str (PyMem_Free it); *out NULL for None. */
int sm_py_strv(PyObject *seq, const char ***out);
/* A list of tuples from d[key]: its items (new reference) and count;
 * *items NULL when absent or None. */
int sm_py_dict_list(PyObject *d, const char *key, PyObject **list, unsigned *n);

/* Calls fn with the tuple Py_BuildValue makes of fmt ("(s)", ...) from a
 * thread that may not hold the GIL: a library callback. An exception goes
 * to sys.unraisablehook, as the library has no way to carry it. */
void sm_py_callback(PyObject *fn, const char *fmt, ...);

/* ---- types ---- */
typedef struct sm_py_image {
    PyObject_HEAD
    sm_image *image;
    sm_py_guard guard;     /* calls on it, and pools using it, are users */
} sm_py_image;

typedef struct sm_py_pool sm_py_pool;

typedef struct sm_py_vm {
    PyObject_HEAD
    sm_vm *vm;
    sm_py_guard guard;
    sm_py_pool *pool;      /* the pool it came from (a strong reference), or NULL */
    struct sm_py_vm *next, *prev;   /* in pool->acquired */
    char id[65];
} sm_py_vm;

struct sm_py_pool {
    PyObject_HEAD
    sm_pool *pool;
    sm_py_guard guard;
    sm_py_image *image;    /* kept open while the pool lives */
    sm_py_vm *acquired;    /* VMs handed out and not given back (borrowed) */
};

extern PyTypeObject sm_py_image_type;
extern PyTypeObject sm_py_vm_type;
extern PyTypeObject sm_py_pool_type;
extern PyTypeObject sm_py_exec_type;

/* A Vm object owning vm (from sm_vm_start or a pool). */
sm_py_vm *sm_py_vm_wrap(sm_vm *vm, sm_py_pool *pool);
/* Enters the VM's guard, or raises ESRCH for a stopped VM: false. */
bool sm_py_vm_enter(sm_py_vm *v);
/* Ends a pool's VM as the pool closes: in-flight calls are ended and
 * waited for, and the handle left to sm_pool_free. */
void sm_py_vm_orphan(sm_py_vm *v);
/* Enters the image's guard, or raises EBADF for a closed image. */
bool sm_py_image_enter(sm_py_image *img);
void sm_py_image_leave(sm_py_image *img);

/* sm_vm_config from the Python layer's dict, with the arrays it owns. */
typedef struct sm_py_vm_config {
    sm_vm_config c;
    sm_port *ports;
    sm_share *shares;
    sm_tmpfs *tmpfs;
    sm_disk *disks;
} sm_py_vm_config;
int sm_py_vm_config_from(PyObject *d, sm_py_vm_config *out);
void sm_py_vm_config_free(sm_py_vm_config *c);

/* sm_exec from the Python layer's dict, with what it points to. */
typedef struct sm_py_exec_args {
    sm_exec ex;
    const char **argv, **env;
    Py_buffer stdin_buf;
    bool has_stdin_buf;
    PyObject *refs;        /* the dict, which keeps argv's strings alive */
} sm_py_exec_args;
int sm_py_exec_args_from(PyObject *d, sm_py_exec_args *out);
void sm_py_exec_args_free(sm_py_exec_args *a);
/* (exit_status, signal, timed_out, stdout, stderr, truncated, peak_rss_kib) */
PyObject *sm_py_exec_result(const sm_exec_result *r);

/* Methods of Vm defined beside their jobs. */
PyObject *sm_py_vm_exec(sm_py_vm *self, PyObject *args);
PyObject *sm_py_vm_exec_start(sm_py_vm *self, PyObject *args);
PyObject *sm_py_vm_write_file(sm_py_vm *self, PyObject *args);
PyObject *sm_py_vm_read_file(sm_py_vm *self, PyObject *args);
PyObject *sm_py_vm_stat(sm_py_vm *self, PyObject *args);
PyObject *sm_py_vm_connect(sm_py_vm *self, PyObject *args);
PyObject *sm_py_vm_expose_tcp(sm_py_vm *self, PyObject *args);
PyObject *sm_py_vm_unexpose_tcp(sm_py_vm *self, PyObject *args);

/* Module functions defined beside their types. */
PyObject *sm_py_image_open(PyObject *mod, PyObject *args);
PyObject *sm_py_image_from_snapshot(PyObject *mod, PyObject *args);
PyObject *sm_py_vm_start(PyObject *mod, PyObject *args);
PyObject *sm_py_pool_new(PyObject *mod, PyObject *args);

#endif
