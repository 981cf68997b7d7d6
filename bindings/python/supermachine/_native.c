/* supermachine._native: the module. Its types are defined one to a file
 * (_native_image.c, _native_vm.c, _native_stream.c, _native_pool.c); see
 * _native.h for how the work is split with the Python layer. */
#include "_native.h"

static PyObject *kvm_check(PyObject *mod, PyObject *unused)
{
    (void)mod;
    (void)unused;
    sm_kvm_status st = SM_KVM_STATUS_INIT;
    Py_BEGIN_ALLOW_THREADS
    sm_kvm_check(&st);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(iiis)", (int)st.kind, st.error < 0 ? -st.error : st.error,
                         st.api_version, st.detail);
}

static PyMethodDef functions[] = {
    {"image_open", sm_py_image_open, METH_VARARGS, "image_open(ref, pull_policy, options)"},
    {"image_from_snapshot", sm_py_image_from_snapshot, METH_VARARGS, "image_from_snapshot(dir)"},
    {"vm_start", sm_py_vm_start, METH_VARARGS, "vm_start(image or None, config)"},
    {"pool_new", sm_py_pool_new, METH_VARARGS, "pool_new(image, config)"},
    {"kvm_check", kvm_check, METH_NOARGS, "kvm_check() -> (kind, errno, api_version, detail)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "supermachine._native",
    .m_doc = "libsupermachine's calls; use the supermachine package, not this.",
    .m_size = -1,
    .m_methods = functions,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyTypeObject *types[] = {&sm_py_image_type, &sm_py_vm_type, &sm_py_exec_type,
                             &sm_py_pool_type};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (PyType_Ready(types[i]) < 0)
            return NULL;
    if (sm_py_errors_init() < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddIntConstant(m, "VERSION_MAJOR", SM_VERSION_MAJOR) ||
        PyModule_AddIntConstant(m, "VERSION_MINOR", SM_VERSION_MINOR) ||
        PyModule_AddIntConstant(m, "ENOKVM", SM_ENOKVM) ||
        PyModule_AddIntConstant(m, "EKVMPERM", SM_EKVMPERM) ||
        PyModule_AddIntConstant(m, "FILE_MKDIRS", SM_FILE_MKDIRS)) {
        Py_DECREF(m);
        return NULL;
    }
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (PyModule_AddType(m, types[i]) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
