/* Files in the guest: write, read, stat, each through the VM's agent
 * with the GIL released. */
#include "_native.h"

/* write_file(path, data, mode, flags) */
PyObject *sm_py_vm_write_file(sm_py_vm *self, PyObject *args)
{
    const char *path;
    Py_buffer b;
    unsigned int mode;
    int flags;
    if (!PyArg_ParseTuple(args, "sy*Ii", &path, &b, &mode, &flags))
        return NULL;
    if (!sm_py_vm_enter(self)) {
        PyBuffer_Release(&b);
        return NULL;
    }
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_write_file(self->vm, path, b.buf, (size_t)b.len, mode, flags));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    PyBuffer_Release(&b);
    if (f.rc < 0)
        return sm_py_raise(&f);
    Py_RETURN_NONE;
}

/* read_file(path, max) -> bytes */
PyObject *sm_py_vm_read_file(sm_py_vm *self, PyObject *args)
{
    const char *path;
    Py_ssize_t max;
    if (!PyArg_ParseTuple(args, "sn", &path, &max))
        return NULL;
    if (max < 0)
        return PyErr_Format(PyExc_ValueError, "max must not be negative");
    if (!sm_py_vm_enter(self))
        return NULL;
    void *data = NULL;
    size_t len = 0;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_read_file(self->vm, path, (size_t)max, &data, &len));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    if (f.rc < 0)
        return sm_py_raise(&f);
    PyObject *r = PyBytes_FromStringAndSize(data, (Py_ssize_t)len);
    sm_free(data);
    return r;
}

/* stat(path) -> (mode, uid, gid, bytes, mtime) */
PyObject *sm_py_vm_stat(sm_py_vm *self, PyObject *args)
{
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    if (!sm_py_vm_enter(self))
        return NULL;
    sm_file_stat st = SM_FILE_STAT_INIT;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_stat(self->vm, path, &st));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    if (f.rc < 0)
        return sm_py_raise(&f);
    return Py_BuildValue("(IIIKL)", st.mode, st.uid, st.gid, (unsigned long long)st.bytes,
                         (long long)st.mtime);
}
