/* sm_vm_config from the dict that supermachine/_config.py builds (its
 * keys are the struct's fields; ports, shares, tmpfs and disks are lists
 * of tuples). Strings are borrowed: the dict outlives the call. */
#include "_native.h"

static void vm_progress(const char *step, void *ctx)
{
    sm_py_callback(ctx, "(s)", step);
}

static int port_from(PyObject *t, void *elem)
{
    int host, guest, udp;
    const char *ip;
    if (!PyArg_ParseTuple(t, "ziip;a port is (host_ip, host_port, guest_port, udp)", &ip,
                          &host, &guest, &udp))
        return -1;
    if (host < 0 || host > 65535 || guest < 1 || guest > 65535) {
        PyErr_Format(PyExc_ValueError, "port %d:%d is out of range", host, guest);
        return -1;
    }
    *(sm_port *)elem = (sm_port){.host_ip = ip, .host_port = (uint16_t)host,
                                 .guest_port = (uint16_t)guest, .udp = udp};
    return 0;
}

static int share_from(PyObject *t, void *elem)
{
    sm_share *s = elem;
    return PyArg_ParseTuple(t, "ssp;a share is (host_path, guest_path, read_only)",
                            &s->host_path, &s->guest_path, &s->read_only) ? 0 : -1;
}

static int tmpfs_from(PyObject *t, void *elem)
{
    sm_tmpfs *m = elem;
    return PyArg_ParseTuple(t, "sz;a tmpfs is (path, options)", &m->path, &m->options) ? 0 : -1;
}

static int disk_from(PyObject *t, void *elem)
{
    sm_disk *k = elem;
    return PyArg_ParseTuple(t, "sp;a disk is (path, read_only)", &k->path, &k->read_only)
               ? 0 : -1;
}

/* d[key], a list of tuples, as an array of n structs of `size` bytes. */
static int array_from(PyObject *d, const char *key, size_t size, int (*parse)(PyObject *, void *),
                      void **arr, unsigned *n)
{
    PyObject *list;
    if (sm_py_dict_list(d, key, &list, n))
        return -1;
    if (!list)
        return 0;
    char *a = PyMem_Calloc(*n ? *n : 1, size);
    int err = a ? 0 : (PyErr_NoMemory(), -1);
    for (unsigned i = 0; !err && i < *n; i++)
        err = parse(PyList_GET_ITEM(list, i), a + i * size);
    Py_DECREF(list);
    if (err)
        PyMem_Free(a);
    else
        *arr = a;
    return err;
}

int sm_py_vm_config_from(PyObject *d, sm_py_vm_config *out)
{
    *out = (sm_py_vm_config){.c = SM_VM_CONFIG_INIT};
    sm_vm_config *c = &out->c;
    if (!PyDict_Check(d)) {
        PyErr_SetString(PyExc_TypeError, "the VM config must be a dict");
        return -1;
    }
    uint32_t network;
    if (sm_py_dict_str(d, "kernel", &c->kernel) || sm_py_dict_str(d, "initrd", &c->initrd) ||
        sm_py_dict_str(d, "cmdline", &c->cmdline) ||
        sm_py_dict_str(d, "hostname", &c->hostname) || sm_py_dict_str(d, "name", &c->name) ||
        sm_py_dict_str(d, "upper_disk", &c->upper_disk) ||
        sm_py_dict_str(d, "snapshot", &c->snapshot) ||
        sm_py_dict_str(d, "root_dir", &c->root_dir) ||
        sm_py_dict_u32(d, "memory_mib", &c->memory_mib) || sm_py_dict_u32(d, "cpus", &c->cpus) ||
        sm_py_dict_u32(d, "start_timeout_ms", &c->start_timeout_ms) ||
        sm_py_dict_u32(d, "cpu_quota_milli", &c->cpu_quota_milli) ||
        sm_py_dict_u32(d, "network", &network) ||
        sm_py_dict_bool(d, "no_snapshot", &c->no_snapshot) ||
        sm_py_dict_bool(d, "read_only", &c->read_only) ||
        sm_py_dict_bool(d, "root_read_only", &c->root_read_only))
        return -1;
    c->network = (sm_network)network;
    if (array_from(d, "ports", sizeof(sm_port), port_from, (void **)&out->ports, &c->nports) ||
        array_from(d, "shares", sizeof(sm_share), share_from, (void **)&out->shares,
                   &c->nshares) ||
        array_from(d, "tmpfs", sizeof(sm_tmpfs), tmpfs_from, (void **)&out->tmpfs,
                   &c->ntmpfs) ||
        array_from(d, "disks", sizeof(sm_disk), disk_from, (void **)&out->disks, &c->ndisks)) {
        sm_py_vm_config_free(out);
        return -1;
    }
    c->ports = out->ports;
    c->shares = out->shares;
    c->tmpfs = out->tmpfs;
    c->disks = out->disks;
    PyObject *progress = PyDict_GetItemString(d, "progress");
    if (progress && progress != Py_None) {
        c->progress = vm_progress;
        c->progress_ctx = progress;
    }
    return 0;
}

void sm_py_vm_config_free(sm_py_vm_config *c)
{
    PyMem_Free(c->ports);
    PyMem_Free(c->shares);
    PyMem_Free(c->tmpfs);
    PyMem_Free(c->disks);
    c->ports = NULL;
    c->shares = NULL;
    c->tmpfs = NULL;
    c->disks = NULL;
}
