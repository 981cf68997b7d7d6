/* Reaching the guest's TCP ports: a connected fd (supermachine/_vm.py
 * wraps it in a socket.socket) and a host port forwarded by the library. */
#include "_native.h"

/* connect(port) -> fd */
PyObject *sm_py_vm_connect(sm_py_vm *self, PyObject *args)
{
    int port;
    if (!PyArg_ParseTuple(args, "i", &port))
        return NULL;
    if (port < 1 || port > 65535)
        return PyErr_Format(PyExc_ValueError, "port %d is not a TCP port", port);
    if (!sm_py_vm_enter(self))
        return NULL;
    int fd = -1;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_connect(self->vm, (uint16_t)port, &fd));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    return f.rc < 0 ? sm_py_raise(&f) : PyLong_FromLong(fd);
}

/* expose_tcp(guest_port, host_ip or None, host_port) -> host_port */
PyObject *sm_py_vm_expose_tcp(sm_py_vm *self, PyObject *args)
{
    int guest, host;
    const char *ip;
    if (!PyArg_ParseTuple(args, "izi", &guest, &ip, &host))
        return NULL;
    if (guest < 1 || guest > 65535 || host < 0 || host > 65535)
        return PyErr_Format(PyExc_ValueError, "port %d or %d is not a TCP port", guest, host);
    if (!sm_py_vm_enter(self))
        return NULL;
    uint16_t port = (uint16_t)host;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_expose_tcp(self->vm, ip, &port, (uint16_t)guest));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    return f.rc < 0 ? sm_py_raise(&f) : PyLong_FromLong(port);
}

/* unexpose_tcp(host_port) */
PyObject *sm_py_vm_unexpose_tcp(sm_py_vm *self, PyObject *args)
{
    int host;
    if (!PyArg_ParseTuple(args, "i", &host))
        return NULL;
    if (host < 1 || host > 65535)
        return PyErr_Format(PyExc_ValueError, "port %d is not a TCP port", host);
    if (!sm_py_vm_enter(self))
        return NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS   /* joins the forwarding thread */
    sm_py_note(&f, sm_vm_unexpose_tcp(self->vm, (uint16_t)host));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    if (f.rc < 0)
        return sm_py_raise(&f);
    Py_RETURN_NONE;
}
