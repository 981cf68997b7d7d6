/* Vm: a started VM (sm_vm_start, or a pool's) and its life: stop,
 * snapshot, id. Exec, files and network calls are in their own files.
 *
 * Stopping frees the handle, which threads may be using with the GIL
 * released: stop marks the VM stopped (new calls fail with ESRCH), ends
 * the calls inside by stopping the VM under them (sm_vm_shutdown keeps
 * the handle), waits until they have left, and only then frees it. */
#include <signal.h>

#include "_native.h"

sm_py_vm *sm_py_vm_wrap(sm_vm *vm, sm_py_pool *pool)
{
    sm_py_vm *self = PyObject_New(sm_py_vm, &sm_py_vm_type);
    if (!self)
        return NULL;
    self->vm = vm;
    sm_py_guard_init(&self->guard);
    snprintf(self->id, sizeof self->id, "%s", sm_vm_id(vm));
    self->pool = pool;
    self->prev = NULL;
    self->next = NULL;
    if (pool) {
        Py_INCREF(pool);
        self->next = pool->acquired;
        if (pool->acquired)
            pool->acquired->prev = self;
        pool->acquired = self;
    }
    return self;
}

bool sm_py_vm_enter(sm_py_vm *v)
{
    if (sm_py_guard_enter(&v->guard))
        return true;
    sm_py_raise_errno(ESRCH, "VM %.12s is stopped: start another", v->id);
    return false;
}

/* With the GIL: out of its pool's list of acquired VMs. */
static void unlink_from_pool(sm_py_vm *v)
{
    sm_py_pool *p = v->pool;
    if (!p)
        return;
    if (v->prev)
        v->prev->next = v->next;
    else if (p->acquired == v)
        p->acquired = v->next;
    if (v->next)
        v->next->prev = v->prev;
    v->prev = v->next = NULL;
}

/* Closes the guard and waits, without the GIL, until no call is inside;
 * the VM is stopped under calls still running so that they end. Returns
 * the handle for the caller to free, or NULL if another did.
 *
 * With no call inside, none can enter (the guard is closed) and the GIL
 * is kept: vm_dealloc comes here with no call inside and the object still
 * in its pool's list at a reference count of 0, and a pool closing in
 * another thread meanwhile would take it up in sm_py_vm_orphan and free
 * it a second time under us. */
static sm_vm *close_and_drain(sm_py_vm *v)
{
    unsigned users;
    if (!sm_py_guard_close(&v->guard, &users))
        return NULL;
    sm_vm *vm = v->vm;
    if (users) {
        Py_BEGIN_ALLOW_THREADS
        sm_vm_shutdown(vm, SIGKILL, 0);
        sm_py_guard_wait_idle(&v->guard);
        Py_END_ALLOW_THREADS
    }
    return vm;
}

void sm_py_vm_orphan(sm_py_vm *v)
{
    Py_INCREF(v);
    unlink_from_pool(v);
    close_and_drain(v);
    /* A stop racing with this may still be waiting: it finds the pool
     * closed and leaves the handle to sm_pool_free too. */
    Py_BEGIN_ALLOW_THREADS
    sm_py_guard_wait_idle(&v->guard);
    Py_END_ALLOW_THREADS
    v->vm = NULL;
    Py_DECREF(v);
}

static PyObject *vm_stop(sm_py_vm *self, PyObject *unused)
{
    (void)unused;
    sm_vm *vm = close_and_drain(self);
    if (!vm || !self->vm)
        Py_RETURN_NONE;
    sm_py_pool *pool = self->pool;
    unlink_from_pool(self);
    self->vm = NULL;
    if (!pool) {
        Py_BEGIN_ALLOW_THREADS
        sm_vm_stop(vm);
        Py_END_ALLOW_THREADS
    } else if (sm_py_guard_enter(&pool->guard)) {
        sm_py_failure f;
        Py_BEGIN_ALLOW_THREADS
        sm_py_note(&f, sm_pool_release(pool->pool, vm));
        Py_END_ALLOW_THREADS
        sm_py_guard_leave(&pool->guard);
        if (f.rc < 0)
            return sm_py_raise(&f);
    }
    /* else the pool is closing: sm_pool_free stops it. */
    Py_RETURN_NONE;
}

static void vm_dealloc(sm_py_vm *self)
{
    /* A VM nobody refers to any more is stopped (or given back), as a
     * file object closes its fd; an exception being raised stays. */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyObject *r = vm_stop(self, NULL);
    if (!r)
        PyErr_WriteUnraisable((PyObject *)self);
    Py_XDECREF(r);
    PyErr_Restore(type, value, tb);
    Py_CLEAR(self->pool);
    sm_py_guard_destroy(&self->guard);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* vm_start(image or None, config: dict) */
PyObject *sm_py_vm_start(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *img, *d;
    if (!PyArg_ParseTuple(args, "OO!", &img, &PyDict_Type, &d))
        return NULL;
    sm_py_image *image = NULL;
    if (img != Py_None) {
        if (!PyObject_TypeCheck(img, &sm_py_image_type))
            return PyErr_Format(PyExc_TypeError, "expected an Image or None");
        image = (sm_py_image *)img;
        if (!sm_py_image_enter(image))
            return NULL;
    }
    sm_py_vm_config cfg;
    if (sm_py_vm_config_from(d, &cfg)) {
        if (image)
            sm_py_image_leave(image);
        return NULL;
    }
    sm_vm *vm = NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_start(image ? image->image : NULL, &cfg.c, &vm));
    Py_END_ALLOW_THREADS
    sm_py_vm_config_free(&cfg);
    if (image)
        sm_py_image_leave(image);
    if (f.rc < 0)
        return sm_py_raise(&f);
    sm_py_vm *self = sm_py_vm_wrap(vm, NULL);
    if (!self) {
        Py_BEGIN_ALLOW_THREADS
        sm_vm_stop(vm);
        Py_END_ALLOW_THREADS
    }
    return (PyObject *)self;
}

/* snapshot(dir, diff) */
static PyObject *vm_snapshot(sm_py_vm *self, PyObject *args)
{
    PyObject *path;
    int diff;
    if (!PyArg_ParseTuple(args, "O&p", PyUnicode_FSConverter, &path, &diff))
        return NULL;
    if (!sm_py_vm_enter(self)) {
        Py_DECREF(path);
        return NULL;
    }
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    const char *dir = PyBytes_AS_STRING(path);
    sm_py_note(&f, diff ? sm_vm_snapshot_diff(self->vm, dir) : sm_vm_snapshot(self->vm, dir));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    Py_DECREF(path);
    if (f.rc < 0)
        return sm_py_raise(&f);
    Py_RETURN_NONE;
}

static PyObject *vm_id(sm_py_vm *self, PyObject *unused)
{
    (void)unused;
    return PyUnicode_FromString(self->id);
}

static PyObject *vm_dir(sm_py_vm *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_vm_enter(self))
        return NULL;
    PyObject *r = PyUnicode_DecodeFSDefault(sm_vm_dir(self->vm));
    sm_py_guard_leave(&self->guard);
    return r;
}

static PyObject *vm_restored(sm_py_vm *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_vm_enter(self))
        return NULL;
    int r = sm_vm_restored(self->vm);
    sm_py_guard_leave(&self->guard);
    return PyBool_FromLong(r);
}

/* True from the moment stop begins: no call is let in after it. */
static PyObject *vm_stopped(sm_py_vm *self, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(sm_py_guard_closed(&self->guard));
}

/* The sm_vm pointer, for C code of the caller's own (bench/exec_python.py
 * times sm_vm_exec on it); valid until stop. */
static PyObject *vm_address(sm_py_vm *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_vm_enter(self))
        return NULL;
    PyObject *r = PyLong_FromVoidPtr(self->vm);
    sm_py_guard_leave(&self->guard);
    return r;
}

static PyMethodDef vm_methods[] = {
    {"stop", (PyCFunction)vm_stop, METH_NOARGS,
     "Stop the VM (a pool's: give it back) once calls in flight have ended."},
    {"snapshot", (PyCFunction)vm_snapshot, METH_VARARGS, "snapshot(dir, diff)"},
    {"id", (PyCFunction)vm_id, METH_NOARGS, "The VM's id, 64 hex digits."},
    {"dir", (PyCFunction)vm_dir, METH_NOARGS, "The VM's runtime directory."},
    {"restored", (PyCFunction)vm_restored, METH_NOARGS, "Resumed from a snapshot?"},
    {"stopped", (PyCFunction)vm_stopped, METH_NOARGS, "Stopped (or given back)?"},
    {"address", (PyCFunction)vm_address, METH_NOARGS, "The sm_vm pointer as an int."},
    {"exec", (PyCFunction)sm_py_vm_exec, METH_VARARGS, "exec(args: dict) -> result tuple"},
    {"exec_start", (PyCFunction)sm_py_vm_exec_start, METH_VARARGS,
     "exec_start(args: dict) -> Exec"},
    {"write_file", (PyCFunction)sm_py_vm_write_file, METH_VARARGS,
     "write_file(path, data, mode, flags)"},
    {"read_file", (PyCFunction)sm_py_vm_read_file, METH_VARARGS, "read_file(path, max) -> bytes"},
    {"stat", (PyCFunction)sm_py_vm_stat, METH_VARARGS,
     "stat(path) -> (mode, uid, gid, bytes, mtime)"},
    {"connect", (PyCFunction)sm_py_vm_connect, METH_VARARGS, "connect(port) -> fd"},
    {"expose_tcp", (PyCFunction)sm_py_vm_expose_tcp, METH_VARARGS,
     "expose_tcp(guest_port, host_ip, host_port) -> host_port"},
    {"unexpose_tcp", (PyCFunction)sm_py_vm_unexpose_tcp, METH_VARARGS, "unexpose_tcp(host_port)"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject sm_py_vm_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "supermachine._native.Vm",
    .tp_basicsize = sizeof(sm_py_vm),
    .tp_dealloc = (destructor)vm_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An sm_vm handle (see supermachine.Vm).",
    .tp_methods = vm_methods,
};
