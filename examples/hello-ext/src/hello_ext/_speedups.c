/* hello_ext._speedups: two functions in C, one of which can fail. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* fibonacci(n): the n-th Fibonacci number; ValueError for n < 0 or n > 92
   (beyond that it does not fit in 64 bits). */
static PyObject *fibonacci(PyObject *module, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (n < 0 || n > 92) {
        PyErr_Format(PyExc_ValueError, "fibonacci(%ld) does not fit in 64 bits", n);
        return NULL;
    }
    uint64_t a = 0, b = 1;
    for (long i = 0; i < n; i++) {
        uint64_t next = a + b;
        a = b;
        b = next;
    }
    return PyLong_FromUnsignedLongLong(a);
}

/* checksum(data): the Adler-32 of a bytes-like object. */
static PyObject *checksum(PyObject *module, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) != 0) {
        return NULL;
    }
    const unsigned char *p = view.buf;
    uint32_t a = 1, b = 0;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        a = (a + p[i]) % 65521;
        b = (b + a) % 65521;
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong((b << 16) | a);
}

static PyMethodDef methods[] = {
    {"fibonacci", fibonacci, METH_O, "The n-th Fibonacci number."},
    {"checksum", checksum, METH_O, "The Adler-32 of a bytes-like object."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "C speedups for hello_ext.", 0, methods,
};

PyMODINIT_FUNC PyInit__speedups(void) { return PyModule_Create(&module); }
