/* Pool: sm_pool_new on an Image (kept open while the pool lives),
 * acquire with the GIL released, stats, and a close that first ends the
 * VMs still handed out (their handles die with the pool), then closes
 * the pool (sm_pool_close: acquires inside or about to start return at
 * once) and frees it once no call is inside. */
#include "_native.h"

/* pool_new(image, config: dict) */
PyObject *sm_py_pool_new(PyObject *mod, PyObject *args)
{
    (void)mod;
    sm_py_image *image;
    PyObject *d, *vmd;
    if (!PyArg_ParseTuple(args, "O!O!", &sm_py_image_type, &image, &PyDict_Type, &d))
        return NULL;
    sm_pool_config c = SM_POOL_CONFIG_INIT;
    uint32_t min, max, starts;
    if (sm_py_dict_u32(d, "min", &min) || sm_py_dict_u32(d, "max", &max) ||
        sm_py_dict_u32(d, "max_parallel_starts", &starts) ||
        sm_py_dict_u32(d, "idle_timeout_ms", &c.idle_timeout_ms) ||
        sm_py_dict_u32(d, "acquire_timeout_ms", &c.acquire_timeout_ms))
        return NULL;
    c.min = min;
    c.max = max;
    c.max_parallel_starts = starts;
    vmd = PyDict_GetItemString(d, "vm");
    sm_py_vm_config vm;
    if (sm_py_vm_config_from(vmd ? vmd : d, &vm))
        return NULL;
    /* The pool's VMs start on its threads, long after this call: no
     * callback of this call's may outlive it. */
    vm.c.progress = NULL;
    vm.c.progress_ctx = NULL;
    c.vm = &vm.c;
    if (!sm_py_image_enter(image)) {
        sm_py_vm_config_free(&vm);
        return NULL;
    }
    sm_pool *pool = NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_pool_new(image->image, &c, &pool));
    Py_END_ALLOW_THREADS
    sm_py_vm_config_free(&vm);
    if (f.rc < 0) {
        sm_py_image_leave(image);
        return sm_py_raise(&f);
    }
    sm_py_pool *self = PyObject_New(sm_py_pool, &sm_py_pool_type);
    if (!self) {
        Py_BEGIN_ALLOW_THREADS
        sm_pool_free(pool);
        Py_END_ALLOW_THREADS
        sm_py_image_leave(image);
        return NULL;
    }
    self->pool = pool;
    sm_py_guard_init(&self->guard);
    Py_INCREF(image);
    self->image = image;    /* its guard stays entered until close */
    self->acquired = NULL;
    return (PyObject *)self;
}

static PyObject *closed(void)
{
    return sm_py_raise_errno(EBADF, "the pool is closed");
}

static PyObject *pool_acquire(sm_py_pool *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_guard_enter(&self->guard))
        return closed();
    sm_vm *vm = NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_pool_acquire(self->pool, &vm));
    Py_END_ALLOW_THREADS
    PyObject *r;
    /* close() marks the guard with the GIL held, as this holds it now:
     * either it has and will not see this VM, or it will orphan it. */
    if (sm_py_guard_closed(&self->guard))
        r = closed();   /* a VM handed out now is sm_pool_free's to stop */
    else if (f.rc < 0)
        r = sm_py_raise(&f);
    else if (!(r = (PyObject *)sm_py_vm_wrap(vm, self)))
        sm_pool_release(self->pool, vm);
    sm_py_guard_leave(&self->guard);
    return r;
}

static PyObject *pool_stats(sm_py_pool *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_guard_enter(&self->guard))
        return closed();
    sm_pool_stats s = SM_POOL_STATS_INIT;
    sm_py_failure f;
    sm_py_note(&f, sm_pool_get_stats(self->pool, &s));   /* a mutex, no wait */
    sm_py_guard_leave(&self->guard);
    if (f.rc < 0)
        return sm_py_raise(&f);
    return Py_BuildValue("{s:I,s:I,s:I,s:I,s:I,s:K,s:K,s:K,s:K,s:K,s:K}", "idle", s.idle,
                         "acquired", s.acquired, "starting", s.starting, "stopping",
                         s.stopping, "waiting", s.waiting, "started",
                         (unsigned long long)s.started, "acquisitions",
                         (unsigned long long)s.acquisitions, "discarded",
                         (unsigned long long)s.discarded, "expired",
                         (unsigned long long)s.expired, "failed_starts",
                         (unsigned long long)s.failed_starts, "timeouts",
                         (unsigned long long)s.timeouts);
}

static PyObject *pool_close(sm_py_pool *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_guard_close(&self->guard, NULL))
        Py_RETURN_NONE;
    while (self->acquired)
        sm_py_vm_orphan(self->acquired);
    sm_pool *pool = self->pool;
    Py_BEGIN_ALLOW_THREADS
    sm_pool_close(pool);
    sm_py_guard_wait_idle(&self->guard);
    sm_pool_free(pool);
    Py_END_ALLOW_THREADS
    self->pool = NULL;
    sm_py_image *image = self->image;
    self->image = NULL;
    sm_py_image_leave(image);
    Py_DECREF(image);
    Py_RETURN_NONE;
}

static void pool_dealloc(sm_py_pool *self)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    Py_XDECREF(pool_close(self, NULL));
    PyErr_Restore(type, value, tb);
    sm_py_guard_destroy(&self->guard);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef pool_methods[] = {
    {"acquire", (PyCFunction)pool_acquire, METH_NOARGS, "acquire() -> Vm"},
    {"stats", (PyCFunction)pool_stats, METH_NOARGS, "stats() -> dict"},
    {"close", (PyCFunction)pool_close, METH_NOARGS,
     "Stop every VM, acquired ones too, and free the pool."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject sm_py_pool_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "supermachine._native.Pool",
    .tp_basicsize = sizeof(sm_py_pool),
    .tp_dealloc = (destructor)pool_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An sm_pool handle (see supermachine.Pool).",
    .tp_methods = pool_methods,
};
