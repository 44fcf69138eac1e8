/* _asanext: an extension module built -fsanitize=address,signed-integer-overflow (recoverable),
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

/* Frees a malloc block twice: attempting double-free (ASAN always aborts on it). */
static PyObject *
double_free(PyObject *self, PyObject *unused)
{
    char *block = malloc(32); /* MARK alloc_double_free */
    if (block == NULL) {
        return PyErr_NoMemory();
    }
    char *volatile again = block;
    free(block);
    free(again); /* MARK fault_double_free */
    Py_RETURN_NONE;
}

/* Loses a 40-byte malloc block: LeakSanitizer reports it at exit (detect_leaks=1). */
static void *volatile lost;

static PyObject *
leak(PyObject *self, PyObject *unused)
{
    lost = malloc(40); /* MARK alloc_leak */
    if (lost == NULL) {
        return PyErr_NoMemory();
    }
    lost = NULL;
    Py_RETURN_NONE;
}

/* INT_MAX + 1: UBSan's signed-integer-overflow (it reports and goes on). */
static volatile int big = 2147483647;

static PyObject *
signed_overflow(PyObject *self, PyObject *unused)
{
    int sum = big + 1; /* MARK fault_signed_overflow */
    return PyLong_FromLong(sum);
}

static PyMethodDef asanext_methods[] = {
    {"overflow", overflow, METH_NOARGS, "heap-buffer-overflow (one byte past a 24-byte block)"},
    {"use_after_free", use_after_free, METH_NOARGS, "heap-use-after-free"},
    {"double_free", double_free, METH_NOARGS, "attempting double-free"},
    {"leak", leak, METH_NOARGS, "a 40-byte block lost, for LeakSanitizer"},
    {"signed_overflow", signed_overflow, METH_NOARGS, "UBSan signed-integer-overflow"},
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
