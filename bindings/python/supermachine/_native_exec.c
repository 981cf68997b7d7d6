/* Running a command: sm_exec from the dict that supermachine/_vm.py
 * builds, sm_vm_exec to its end with the GIL released (so that many
 * threads exec in one VM at once), and the result as a tuple. */
#include "_native.h"

int sm_py_exec_args_from(PyObject *d, sm_py_exec_args *a)
{
    *a = (sm_py_exec_args){.ex = SM_EXEC_INIT};
    sm_exec *ex = &a->ex;
    if (!PyDict_Check(d)) {
        PyErr_SetString(PyExc_TypeError, "the exec arguments must be a dict");
        return -1;
    }
    uint32_t max_output;
    PyObject *stdin_obj = PyDict_GetItemString(d, "stdin");
    PyObject *stdin_fd = PyDict_GetItemString(d, "stdin_fd");
    if (sm_py_strv(PyDict_GetItemString(d, "argv"), &a->argv) ||
        sm_py_strv(PyDict_GetItemString(d, "env"), &a->env) ||
        sm_py_dict_str(d, "cwd", &ex->cwd) || sm_py_dict_str(d, "user", &ex->user) ||
        sm_py_dict_u32(d, "timeout_ms", &ex->timeout_ms) ||
        sm_py_dict_u32(d, "max_output", &max_output) ||
        sm_py_dict_bool(d, "tty", &ex->pty) ||
        sm_py_dict_bool(d, "stdin_stream", &ex->stdin_stream))
        goto fail;
    ex->max_output = max_output;
    ex->argv = a->argv;
    ex->env = a->env;
    if (stdin_obj && stdin_obj != Py_None) {
        if (PyObject_GetBuffer(stdin_obj, &a->stdin_buf, PyBUF_SIMPLE))
            goto fail;
        a->has_stdin_buf = true;
        ex->stdin_data = a->stdin_buf.buf;
        ex->stdin_len = (size_t)a->stdin_buf.len;
    }
    if (stdin_fd && stdin_fd != Py_None) {
        int fd = PyObject_AsFileDescriptor(stdin_fd);
        if (fd < 0)
            goto fail;
        ex->has_stdin_fd = 1;
        ex->stdin_fd = fd;
    }
    Py_INCREF(d);
    a->refs = d;
    return 0;
fail:
    sm_py_exec_args_free(a);
    return -1;
}

void sm_py_exec_args_free(sm_py_exec_args *a)
{
    PyMem_Free(a->argv);
    PyMem_Free(a->env);
    a->argv = a->env = NULL;
    if (a->has_stdin_buf)
        PyBuffer_Release(&a->stdin_buf);
    a->has_stdin_buf = false;
    Py_CLEAR(a->refs);
}

PyObject *sm_py_exec_result(const sm_exec_result *r)
{
    return Py_BuildValue("(iiiy#y#iK)", r->exit_status, r->signal, r->timed_out,
                         r->stdout_data ? r->stdout_data : "", (Py_ssize_t)r->stdout_len,
                         r->stderr_data ? r->stderr_data : "", (Py_ssize_t)r->stderr_len,
                         r->output_truncated, (unsigned long long)r->peak_rss_kib);
}

/* exec(args: dict) -> (exit_status, signal, timed_out, stdout, stderr,
 * output_truncated, peak_rss_kib) */
PyObject *sm_py_vm_exec(sm_py_vm *self, PyObject *args)
{
    PyObject *d;
    sm_py_exec_args a;
    if (!PyArg_ParseTuple(args, "O", &d) || sm_py_exec_args_from(d, &a))
        return NULL;
    if (!sm_py_vm_enter(self)) {
        sm_py_exec_args_free(&a);
        return NULL;
    }
    sm_exec_result r = SM_EXEC_RESULT_INIT;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_vm_exec(self->vm, &a.ex, &r));
    Py_END_ALLOW_THREADS
    sm_py_guard_leave(&self->guard);
    sm_py_exec_args_free(&a);
    PyObject *out = f.rc < 0 ? sm_py_raise(&f) : sm_py_exec_result(&r);
    sm_exec_result_free(&r);
    return out;
}
