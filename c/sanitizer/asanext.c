/* _asanext: an extension module built with -fsanitize=address (and -fsanitize-recover=address),
 * for Debian's python3.11-dbg run with LD_PRELOAD naming gcc's libasan, as leakcheck runs it.
 * Each function commits one memory error in C, on memory from malloc (which ASAN intercepts;
 * CPython's own allocators are not instrumented in this interpreter). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

/* Writes one byte past a 24-byte malloc block: heap-buffer-overflow. */
static PyObject *
overflow(PyObject *self, PyObject *unused)
{
    char *block = malloc(24); /* MARK alloc_overflow */
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    memset(block, 0, 24);
    volatile char *end = block + 24;
    *end = 1; /* MARK fault_overflow */
    free(block);
    Py_RETURN_NONE;
}

/* Hides the freed pointer from GCC's -Wuse-after-free. */
static long *volatile stale;

/* Reads a malloc block after freeing it: heap-use-after-free. */
static PyObject *
use_after_free(PyObject *self, PyObject *unused)
{
    long *block = malloc(4 * sizeof(long)); /* MARK alloc_uaf */
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    block[2] = 42;
    stale = block;
    free(block); /* MARK free_uaf */
    return PyLong_FromLong(stale[2]); /* MARK fault_uaf */
}

static PyMethodDef asanext_methods[] = {
    {"overflow", overflow, METH_NOARGS, "heap-buffer-overflow (one byte past a 24-byte block)"},
    {"use_after_free", use_after_free, METH_NOARGS, "heap-use-after-free"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef asanext_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_asanext",
    .m_doc = "Memory errors for ASAN, on purpose.",
    .m_size = -1,
    .m_methods = asanext_methods,
};

PyMODINIT_FUNC
PyInit__asanext(void)
{
    return PyModule_Create(&asanext_module);
}
