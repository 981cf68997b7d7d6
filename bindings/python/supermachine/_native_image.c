/* Image: sm_image_open and sm_image_from_snapshot, the image's info as a
 * dict, and a close that waits for no one: a VM start in flight or a pool
 * built on the image keeps it open (the library needs it that long), and
 * the last of them closes it. */
#include "_native.h"

static void finish_close(sm_py_image *self)
{
    sm_image *image = self->image;
    self->image = NULL;
    if (image) {
        Py_BEGIN_ALLOW_THREADS
        sm_image_close(image);
        Py_END_ALLOW_THREADS
    }
}

bool sm_py_image_enter(sm_py_image *img)
{
    if (sm_py_guard_enter(&img->guard))
        return true;
    sm_py_raise_errno(EBADF, "the image is closed");
    return false;
}

void sm_py_image_leave(sm_py_image *img)
{
    if (sm_py_guard_leave(&img->guard))
        finish_close(img);
}

static PyObject *image_close(sm_py_image *self, PyObject *unused)
{
    (void)unused;
    unsigned users;
    if (sm_py_guard_close(&self->guard, &users) && users == 0)
        finish_close(self);
    Py_RETURN_NONE;
}

static void image_dealloc(sm_py_image *self)
{
    /* Nothing can be inside: calls and pools hold a reference. */
    finish_close(self);
    sm_py_guard_destroy(&self->guard);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static sm_py_image *wrap(sm_image *image)
{
    sm_py_image *self = PyObject_New(sm_py_image, &sm_py_image_type);
    if (!self) {
        sm_image_close(image);
        return NULL;
    }
    self->image = image;
    sm_py_guard_init(&self->guard);
    return self;
}

/* ---- opening ---- */

static void pull_progress(const sm_pull_progress *p, void *ctx)
{
    sm_py_callback(ctx, "(sIIKKO)", p->name ? p->name : "", p->layers, p->layers_done,
                   (unsigned long long)p->bytes, (unsigned long long)p->bytes_done,
                   p->finished ? Py_True : Py_False);
}

static void building(const char *name, void *ctx)
{
    sm_py_callback(ctx, "(s)", name);
}

/* image_open(reference, pull_policy, options: dict) */
PyObject *sm_py_image_open(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *ref;
    int policy;
    PyObject *d;
    if (!PyArg_ParseTuple(args, "siO!", &ref, &policy, &PyDict_Type, &d))
        return NULL;
    sm_pull_options pull = SM_PULL_OPTIONS_INIT;
    sm_image_open_options o = SM_IMAGE_OPEN_OPTIONS_INIT;
    const char **insecure = NULL, **mirrors = NULL;
    if (sm_py_dict_str(d, "platform", &pull.platform) ||
        sm_py_dict_str(d, "username", &pull.username) ||
        sm_py_dict_str(d, "password", &pull.password) ||
        sm_py_strv(PyDict_GetItemString(d, "insecure_registries"), &insecure) ||
        sm_py_strv(PyDict_GetItemString(d, "mirrors"), &mirrors)) {
        PyMem_Free(insecure);
        return NULL;
    }
    pull.insecure_registries = insecure;
    pull.mirrors = mirrors;
    PyObject *progress = PyDict_GetItemString(d, "progress");
    if (progress && progress != Py_None) {
        pull.progress = pull_progress;
        pull.progress_ctx = progress;
    }
    PyObject *build = PyDict_GetItemString(d, "building");
    if (build && build != Py_None) {
        o.building = building;
        o.building_ctx = build;
    }
    o.pull_policy = (sm_pull_policy)policy;
    o.pull = &pull;
    sm_image *image = NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_image_open(ref, &o, &image));
    Py_END_ALLOW_THREADS
    PyMem_Free(insecure);
    PyMem_Free(mirrors);
    return f.rc < 0 ? sm_py_raise(&f) : (PyObject *)wrap(image);
}

/* image_from_snapshot(dir) */
PyObject *sm_py_image_from_snapshot(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *path;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path))
        return NULL;
    sm_image *image = NULL;
    sm_py_failure f;
    Py_BEGIN_ALLOW_THREADS
    sm_py_note(&f, sm_image_from_snapshot(PyBytes_AS_STRING(path), &image));
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    return f.rc < 0 ? sm_py_raise(&f) : (PyObject *)wrap(image);
}

/* ---- info ---- */

static PyObject *strv_list(char **v)
{
    if (!v)
        Py_RETURN_NONE;
    PyObject *l = PyList_New(0);
    for (; l && *v; v++) {
        PyObject *s = PyUnicode_DecodeUTF8(*v, (Py_ssize_t)strlen(*v), "surrogateescape");
        if (!s || PyList_Append(l, s)) {
            Py_XDECREF(s);
            Py_CLEAR(l);
            break;
        }
        Py_DECREF(s);
    }
    return l;
}

static PyObject *layers_list(const sm_image_info *i)
{
    PyObject *l = PyList_New((Py_ssize_t)i->layer_count);
    for (size_t k = 0; l && k < i->layer_count; k++) {
        const sm_image_layer *y = &i->layers[k];
        PyObject *t = Py_BuildValue("(ssK)", y->digest, y->media_type,
                                    (unsigned long long)y->size);
        if (!t)
            Py_CLEAR(l);
        else
            PyList_SET_ITEM(l, (Py_ssize_t)k, t);
    }
    return l;
}

static PyObject *labels_dict(const sm_image_info *i)
{
    PyObject *d = PyDict_New();
    for (size_t k = 0; d && k < i->label_count; k++) {
        PyObject *v = PyUnicode_FromString(i->labels[k].value ? i->labels[k].value : "");
        if (!v || PyDict_SetItemString(d, i->labels[k].key, v))
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *image_info(sm_py_image *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_image_enter(self))
        return NULL;
    const sm_image_info *i = sm_image_get_info(self->image);
    PyObject *r;
    if (!i) {
        /* A snapshot of a VM without an image. */
        r = Py_None;
        Py_INCREF(r);
    } else {
        r = Py_BuildValue(
            "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:L,s:K,s:N,s:N,s:N,s:N,s:z,s:z,s:N,s:z,s:N}",
            "name", i->name, "digest", i->digest, "index_digest", i->index_digest,
            "config_digest", i->config_digest, "media_type", i->media_type, "os", i->os,
            "architecture", i->architecture, "variant", i->variant, "created", i->created,
            "stored", (long long)i->stored, "bytes", (unsigned long long)i->bytes,
            "layers", layers_list(i), "entrypoint", strv_list(i->entrypoint),
            "cmd", strv_list(i->cmd), "env", strv_list(i->env),
            "working_dir", i->working_dir, "user", i->user,
            "exposed_ports", strv_list(i->exposed_ports), "stop_signal", i->stop_signal,
            "labels", labels_dict(i));
    }
    sm_py_image_leave(self);
    return r;
}

static PyObject *image_rootfs(sm_py_image *self, PyObject *unused)
{
    (void)unused;
    if (!sm_py_image_enter(self))
        return NULL;
    const char *p = sm_image_rootfs(self->image);
    PyObject *r = p ? PyUnicode_DecodeFSDefault(p) : Py_None;
    if (!p)
        Py_INCREF(r);
    sm_py_image_leave(self);
    return r;
}

static PyMethodDef image_methods[] = {
    {"close", (PyCFunction)image_close, METH_NOARGS,
     "Close the image once no VM start or pool uses it."},
    {"info", (PyCFunction)image_info, METH_NOARGS, "sm_image_get_info as a dict, or None."},
    {"rootfs", (PyCFunction)image_rootfs, METH_NOARGS, "sm_image_rootfs, or None."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject sm_py_image_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "supermachine._native.Image",
    .tp_basicsize = sizeof(sm_py_image),
    .tp_dealloc = (destructor)image_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An sm_image handle (see supermachine.Image).",
    .tp_methods = image_methods,
};
