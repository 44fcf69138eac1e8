/* _ubsanext: an extension module built -fsanitize=undefined alone, for Debian's python3.11-dbg
 * run with LD_PRELOAD naming gcc's libubsan (`leakcheck --sanitizer ubsan`). Built with ASAN
 * too (`_asanext`), gcc 12's UBSan wrote its reports to stderr whatever UBSAN_OPTIONS or
 * ASAN_OPTIONS said of log_path; alone, it honours UBSAN_OPTIONS=log_path. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* INT_MAX + 1: signed-integer-overflow (UBSan reports and goes on). */
static volatile int big = 2147483647;

static PyObject *
signed_overflow(PyObject *self, PyObject *unused)
{
    int sum = big + 1; /* MARK ubsan_signed_overflow */
    return PyLong_FromLong(sum);
}

static PyMethodDef ubsanext_methods[] = {
    {"signed_overflow", signed_overflow, METH_NOARGS, "UBSan signed-integer-overflow"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ubsanext_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_ubsanext",
    .m_doc = "Undefined behaviour for UBSan, on purpose.",
    .m_size = -1,
    .m_methods = ubsanext_methods,
};

PyMODINIT_FUNC
PyInit__ubsanext(void)
{
    return PyModule_Create(&ubsanext_module);
}
