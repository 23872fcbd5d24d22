/* sloppy_ext._sloppy: every function here is registered under a signature
   it does not have, the way much real C code does. Natively the calling
   convention lets it pass: a callee declared with fewer parameters ignores
   the extra arguments, one declared with more never reads the ones it was
   not given (each says so below). In WebAssembly an indirect call through a
   pointer of another type traps, unless the caller checks the type first,
   as python.wasm's CPython does. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* METH_NOARGS, called with (self, NULL): declared without the NULL. */
static PyObject *noargs(PyObject *module) {
    return PyUnicode_FromString("noargs");
}

/* METH_O, called with (self, arg): declared without the argument, so it
   cannot look at it. */
static PyObject *one_arg(PyObject *module) {
    return PyUnicode_FromString("one_arg");
}

/* METH_VARARGS, called with (self, args): declared with a keywords
   parameter too, which it only reads when the flags say it has one. */
static PyObject *varargs(PyObject *module, PyObject *args, PyObject *kwargs) {
    (void)kwargs;
    return PyLong_FromSsize_t(PyTuple_GET_SIZE(args));
}

/* METH_VARARGS | METH_KEYWORDS, called with (self, args, kwargs): declared
   without the keywords, which it never accepts (callers pass none). */
static PyObject *varkw(PyObject *module, PyObject *args) {
    return PyLong_FromSsize_t(PyTuple_GET_SIZE(args));
}

static PyObject *sum_of(PyObject *const *args, Py_ssize_t nargs) {
    long total = 0;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        long v = PyLong_AsLong(args[i]);
        if (v == -1 && PyErr_Occurred()) {
            return NULL;
        }
        total += v;
    }
    return PyLong_FromLong(total);
}

/* METH_FASTCALL, called with (self, args, nargs): declared with the
   keyword names of METH_FASTCALL | METH_KEYWORDS as well, never read. */
static PyObject *fast_sum(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames) {
    (void)kwnames;
    return sum_of(args, nargs);
}

/* METH_FASTCALL | METH_KEYWORDS, called with (self, args, nargs, kwnames):
   declared without the keyword names; it takes positional arguments only. */
static PyObject *fast_kw_sum(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    return sum_of(args, nargs);
}

/* Untolerated: a call through a mismatched pointer that the extension
   makes itself, where no CPython code can test it. faasm-py's tests check
   that the trap says why and where; the suite never calls it. */
static long add_one(long x) {
    return x + 1;
}

static PyObject *call_mismatched_pointer(PyObject *module, PyObject *unused) {
    long (*volatile two_args)(long, long) = (long (*)(long, long))(void (*)(void))add_one;
    return PyLong_FromLong(two_args(41, 0));
}

static PyMethodDef module_methods[] = {
    {"noargs", (PyCFunction)(void (*)(void))noargs, METH_NOARGS, NULL},
    {"one_arg", (PyCFunction)(void (*)(void))one_arg, METH_O, NULL},
    {"varargs", (PyCFunction)(void (*)(void))varargs, METH_VARARGS, NULL},
    {"varkw", (PyCFunction)(void (*)(void))varkw, METH_VARARGS | METH_KEYWORDS, NULL},
    {"fast_sum", (PyCFunction)(void (*)(void))fast_sum, METH_FASTCALL, NULL},
    {"fast_kw_sum", (PyCFunction)(void (*)(void))fast_kw_sum, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"call_mismatched_pointer", call_mismatched_pointer, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

/* Counter: a heap type whose methods, getter, setter and slots are just as
   sloppy. It can hold a reference (`link`), so cycles of counters are the
   garbage collector's to break. */
typedef struct {
    PyObject_HEAD
    long value;
    PyObject *link;
} CounterObject;

/* tp_clear, called as `int (*)(PyObject *)`: declared to return nothing,
   as often (the result was never used). */
static void counter_clear(CounterObject *self) {
    Py_CLEAR(self->link);
}

static int counter_traverse(CounterObject *self, visitproc visit, void *arg) {
    Py_VISIT(self->link);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static void counter_dealloc(CounterObject *self) {
    PyTypeObject *type = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    counter_clear(self);
    type->tp_free(self);
    Py_DECREF(type);
}

/* tp_init, called as (self, args, kwargs): declared without the keywords,
   which it never accepts. */
static int counter_init(CounterObject *self, PyObject *args) {
    long start = 0;
    if (!PyArg_ParseTuple(args, "|l", &start)) {
        return -1;
    }
    self->value = start;
    return 0;
}

/* tp_repr, called as (self): declared with an unused second parameter. */
static PyObject *counter_repr(CounterObject *self, PyObject *unused) {
    (void)unused;
    return PyUnicode_FromFormat("Counter(%ld)", self->value);
}

static PyObject *counter_get_link(CounterObject *self, void *closure) {
    return Py_NewRef(self->link ? self->link : Py_None);
}

static int counter_set_link(CounterObject *self, PyObject *value, void *closure) {
    Py_XSETREF(self->link, Py_XNewRef(value == Py_None ? NULL : value));
    return 0;
}

/* A getter, called with (self, closure): declared without the closure. */
static PyObject *counter_get_value(CounterObject *self) {
    return PyLong_FromLong(self->value);
}

/* A setter, called with (self, value, closure): declared without the
   closure. */
static int counter_set_value(CounterObject *self, PyObject *value) {
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete value");
        return -1;
    }
    long v = PyLong_AsLong(value);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    self->value = v;
    return 0;
}

/* A METH_NOARGS method declared without the NULL. */
static PyObject *counter_bump(CounterObject *self) {
    self->value += 1;
    return PyLong_FromLong(self->value);
}

/* A METH_O method declared without its argument. */
static PyObject *counter_reset(CounterObject *self) {
    self->value = 0;
    Py_RETURN_NONE;
}

/* METH_METHOD | METH_FASTCALL | METH_KEYWORDS, called with (self,
   defining_class, args, nargs, kwnames): declared without the keyword
   names. */
static PyObject *method_sum(CounterObject *self, PyTypeObject *cls, PyObject *const *args,
                            Py_ssize_t nargs) {
    PyObject *sum = sum_of(args, nargs);
    if (sum == NULL) {
        return NULL;
    }
    long total = PyLong_AsLong(sum) + self->value;
    Py_DECREF(sum);
    return PyLong_FromLong(total);
}

static PyGetSetDef counter_getset[] = {
    {"value", (getter)(void (*)(void))counter_get_value,
     (setter)(void (*)(void))counter_set_value, NULL, NULL},
    {"link", (getter)counter_get_link, (setter)counter_set_link, NULL, NULL},
    {NULL},
};

static PyMethodDef counter_methods[] = {
    {"bump", (PyCFunction)(void (*)(void))counter_bump, METH_NOARGS, NULL},
    {"reset", (PyCFunction)(void (*)(void))counter_reset, METH_O, NULL},
    {"method_sum", (PyCFunction)(void (*)(void))method_sum,
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot counter_slots[] = {
    {Py_tp_getset, counter_getset},
    {Py_tp_methods, counter_methods},
    {Py_tp_clear, (void *)counter_clear},
    {Py_tp_traverse, (void *)counter_traverse},
    {Py_tp_dealloc, (void *)counter_dealloc},
    {Py_tp_init, (void *)counter_init},
    {Py_tp_repr, (void *)counter_repr},
    {0, NULL},
};

static PyType_Spec counter_spec = {
    .name = "sloppy_ext._sloppy.Counter",
    .basicsize = sizeof(CounterObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = counter_slots,
};

static int exec_module(PyObject *module) {
    PyObject *counter = PyType_FromModuleAndSpec(module, &counter_spec, NULL);
    if (counter == NULL) {
        return -1;
    }
    int err = PyModule_AddObjectRef(module, "Counter", counter);
    Py_DECREF(counter);
    return err;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sloppy_ext._sloppy",
    .m_methods = module_methods,
    .m_slots = module_slots,
};

PyMODINIT_FUNC PyInit__sloppy(void) {
    return PyModuleDef_Init(&module_def);
}
