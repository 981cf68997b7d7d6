/* Failures as supermachine.Error: the errno from the library's negative
 * return and the sentence of sm_last_error(). The sentence is copied in
 * the failing thread right after the call, because it is thread-local and
 * the next library call on that thread (a callback's, a finaliser's)
 * would replace it. The exception classes live in supermachine/_errors.py,
 * where Python code maps errnos to subclasses. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "_native.h"

static PyObject *from_code;   /* supermachine._errors._from_code(errno, sentence) */

int sm_py_errors_init(void)
{
    PyObject *mod = PyImport_ImportModule("supermachine._errors");
    if (!mod)
        return -1;
    from_code = PyObject_GetAttrString(mod, "_from_code");
    Py_DECREF(mod);
    return from_code ? 0 : -1;
}

int sm_py_note(sm_py_failure *f, int rc)
{
    f->rc = rc;
    if (rc < 0)
        snprintf(f->sentence, sizeof f->sentence, "%s", sm_last_error());
    else
        f->sentence[0] = '\0';
    return rc;
}

static PyObject *raise(int err, const char *sentence)
{
    /* Not strict UTF-8: the sentence may quote a path's raw bytes or an
     * error message from the guest, or be cut in the middle of a
     * character, and a UnicodeDecodeError would hide the failure. */
    PyObject *text = PyUnicode_DecodeUTF8(sentence, (Py_ssize_t)strlen(sentence),
                                          "backslashreplace");
    if (!text)
        return NULL;
    PyObject *exc = PyObject_CallFunction(from_code, "iN", err, text);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

PyObject *sm_py_raise(const sm_py_failure *f)
{
    /* A library call that failed without a sentence still says which. */
    const char *s = f->sentence[0] ? f->sentence : sm_strerror(f->rc);
    return raise(f->rc < 0 ? -f->rc : f->rc, s);
}

PyObject *sm_py_raise_errno(int err, const char *fmt, ...)
{
    char sentence[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sentence, sizeof sentence, fmt, ap);
    va_end(ap);
    return raise(err, sentence);
}
