/* Exec: a command started with sm_vm_exec_start, for streaming. wait()
 * runs sm_exec_wait with the GIL released; the library hands each chunk
 * of output to on_output in that thread, which takes the GIL back to pass
 * it to the Python sink (supermachine/_exec.py queues it for the
 * iterating thread). signal, stdin and resize may come from other threads
 * meanwhile: the library allows it, and the handle is freed only when
 * the object is, which no call in progress allows. */
#include "_native.h"

typedef struct sm_py_exec {
    PyObject_HEAD
    sm_exec_handle *h;
    sm_py_exec_args args;  /* stdin_data must live until the wait ends */
    PyObject *sink;        /* sink(fd, bytes) during wait */
    /* What the sink raised (PyErr_Fetch's three, for Python 3.11): wait
     * raises it. */
    PyObject *err_type, *err_value, *err_tb;
    bool waited;           /* from the moment wait begins: it runs once */
} sm_py_exec;

static int on_output(sm_py_exec *self, int fd, const void *data, size_t len)
{
    PyGILState_STATE st = PyGILState_Ensure();
    int rc = 0;
    PyObject *r = PyObject_CallFunction(self->sink, "iy#", fd, (const char *)data,
                                        (Py_ssize_t)len);
    if (r) {
        Py_DECREF(r);
    } else {
        /* The first exception ends the command; wait() raises it. */
        if (!self->err_type)
            PyErr_Fetch(&self->err_type, &self->err_value, &self->err_tb);
        else
            PyErr_Clear();
        rc = -ECANCELED;
    }
    PyGILState_Release(st);
    return rc;
}

static int on_stdout(void *ctx, const void *data, size_t len)
{
    return on_output(ctx, 1, data, len);
}

static int on_stderr(void *ctx, const void *data, size_t len)
{
    return on_output(ctx, 2, data, len);
}

/* Vm.exec_start(args: dict) -> Exec */
PyObject *sm_py_vm_exec_start(sm_py_vm *vm, PyObject *args)
{
    PyObject *d;
    if (!PyArg_ParseTuple(args, "O", &d))
        return NULL;
    sm_py_exec *self = PyObject_New(sm_py_exec, &sm_py_exec_type);
    if (!self)
        return NULL;
    self->h = NULL;
    self->sink = self->err_type = self->err_value = self->err_tb = NULL;
    self->waited = false;
    self->args = (sm_py_exec_args){.refs = NULL};
    if (sm_py_exec_args_from(d, &self->args) || !sm_py_vm_enter(vm)) {
        Py_DECREF(self);
        return NULL;
    }
    self->args.ex.on_stdout = on_stdout;
    self->args.ex.on_stderr = on_stderr;
    self->args.ex.ctx = self;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_exec_start(vm->vm, &self->args.ex, &self->h));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&vm->guard);
    if (f.rc < 0) {
        Py_DECREF(self);
        return sm_py_raise(&f);
    }
    return (PyObject *)self;
}

/* wait(sink) -> result tuple (as Vm.exec's) */
static PyObject *exec_wait(sm_py_exec *self, PyObject *args)
{
    PyObject *sink;
    if (!PyArg_ParseTuple(args, "O", &sink))
        return NULL;
    if (self->waited)
        return sm_py_raise_errno(EINVAL, "this command is already waited for");
    self->waited = true;
    Py_INCREF(sink);
    self->sink = sink;
    sm_exec_result r = SM_EXEC_RESULT_INIT;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_exec_wait(self->h, &r));
    Py_END_ALLOW_THREADS
    Py_CLEAR(self->sink);
    PyObject *out;
    if (self->err_type) {
        PyErr_Restore(self->err_type, self->err_value, self->err_tb);
        self->err_type = self->err_value = self->err_tb = NULL;
        out = NULL;
    } else {
        out = f.rc < 0 ? sm_py_raise(&f) : sm_py_exec_result(&r);
    }
    sm_exec_result_free(&r);
    return out;
}

/* The calls beside a wait: the library answers ESRCH once it has ended. */
static PyObject *finish(const sm_py_failure *f)
{
    if (f->rc < 0)
        return sm_py_raise(f);
    Py_RETURN_NONE;
}

static PyObject *exec_signal(sm_py_exec *self, PyObject *args)
{
    int signo;
    if (!PyArg_ParseTuple(args, "i", &signo))
        return NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_exec_signal(self->h, signo));
    Py_END_ALLOW_THREADS
    return finish(&f);
}

static PyObject *exec_write_stdin(sm_py_exec *self, PyObject *args)
{
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b))
        return NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_exec_write_stdin(self->h, b.buf, (size_t)b.len));
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    return finish(&f);
}

static PyObject *exec_close_stdin(sm_py_exec *self, PyObject *unused)
{
    (void)unused;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_exec_close_stdin(self->h));
    Py_END_ALLOW_THREADS
    return finish(&f);
}

static PyObject *exec_resize(sm_py_exec *self, PyObject *args)
{
    unsigned short rows, cols;
    if (!PyArg_ParseTuple(args, "HH", &rows, &cols))
        return NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_exec_resize(self->h, rows, cols));
    Py_END_ALLOW_THREADS
    return finish(&f);
}

static void exec_dealloc(sm_py_exec *self)
{
    sm_exec_handle *h = self->h;
    if (h) {
        Py_BEGIN_ALLOW_THREADS
        sm_exec_free(h);
        Py_END_ALLOW_THREADS
    }
    sm_py_exec_args_free(&self->args);
    Py_CLEAR(self->sink);
    Py_CLEAR(self->err_type);
    Py_CLEAR(self->err_value);
    Py_CLEAR(self->err_tb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef exec_methods[] = {
    {"wait", (PyCFunction)exec_wait, METH_VARARGS,
     "wait(sink) -> result tuple; sink(fd, bytes) gets the output as it comes."},
    {"signal", (PyCFunction)exec_signal, METH_VARARGS, "signal(signo)"},
    {"write_stdin", (PyCFunction)exec_write_stdin, METH_VARARGS, "write_stdin(data)"},
    {"close_stdin", (PyCFunction)exec_close_stdin, METH_NOARGS, "close_stdin()"},
    {"resize", (PyCFunction)exec_resize, METH_VARARGS, "resize(rows, cols)"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject sm_py_exec_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "supermachine._native.Exec",
    .tp_basicsize = sizeof(sm_py_exec),
    .tp_dealloc = (destructor)exec_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An sm_exec_handle (see supermachine.ExecStream).",
    .tp_methods = exec_methods,
};
