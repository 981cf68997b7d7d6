/* Python values to the library's: strings borrowed from objects the
 * caller keeps alive for the call, numbers range-checked. */
#include <stdarg.h>
#include <string.h>

#include "_native.h"

int sm_py_dict_str(PyObject *d, const char *key, const char **out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    *out = NULL;
    if (!v || v == Py_None)
        return 0;
    if (!PyUnicode_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", key, Py_TYPE(v)->tp_name);
        return -1;
    }
    *out = PyUnicode_AsUTF8(v);
    return *out ? 0 : -1;
}

int sm_py_dict_u32(PyObject *d, const char *key, uint32_t *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    *out = 0;
    if (!v || v == Py_None)
        return 0;
    unsigned long n = PyLong_AsUnsignedLong(v);
    if (n == (unsigned long)-1 && PyErr_Occurred())
        return -1;
    if (n > UINT32_MAX) {
        PyErr_Format(PyExc_OverflowError, "%s is too large", key);
        return -1;
    }
    *out = (uint32_t)n;
    return 0;
}

int sm_py_dict_bool(PyObject *d, const char *key, int *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    *out = 0;
    if (!v)
        return 0;
    int t = PyObject_IsTrue(v);
    if (t < 0)
        return -1;
    *out = t;
    return 0;
}

int sm_py_strv(PyObject *seq, const char ***out)
{
    *out = NULL;
    if (!seq || seq == Py_None)
        return 0;
    if (!PyList_Check(seq) && !PyTuple_Check(seq)) {
        PyErr_SetString(PyExc_TypeError, "expected a list of str");
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    const char **v = PyMem_Calloc((size_t)n + 1, sizeof *v);
    if (!v) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(PyExc_TypeError, "expected str, not %.100s", Py_TYPE(s)->tp_name);
            PyMem_Free(v);
            return -1;
        }
        /* A NUL inside would cut the string short without a word. */
        Py_ssize_t len;
        v[i] = PyUnicode_AsUTF8AndSize(s, &len);
        if (v[i] && (Py_ssize_t)strlen(v[i]) != len) {
            PyErr_SetString(PyExc_ValueError, "embedded null character");
            v[i] = NULL;
        }
        if (!v[i]) {
            PyMem_Free(v);
            return -1;
        }
    }
    *out = v;
    return 0;
}

int sm_py_dict_list(PyObject *d, const char *key, PyObject **list, unsigned *n)
{
    PyObject *v = PyDict_GetItemString(d, key);
    *list = NULL;
    *n = 0;
    if (!v || v == Py_None)
        return 0;
    if (!PyList_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s must be a list", key);
        return -1;
    }
    Py_INCREF(v);
    *list = v;
    *n = (unsigned)PyList_GET_SIZE(v);
    return 0;
}

void sm_py_callback(PyObject *fn, const char *fmt, ...)
{
    PyGILState_STATE st = PyGILState_Ensure();
    va_list ap;
    va_start(ap, fmt);
    PyObject *args = Py_VaBuildValue(fmt, ap);
    va_end(ap);
    PyObject *r = args ? PyObject_CallObject(fn, args) : NULL;
    Py_XDECREF(args);
    if (r)
        Py_DECREF(r);
    else
        PyErr_WriteUnraisable(fn);
    PyGILState_Release(st);
}
