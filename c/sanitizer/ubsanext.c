/* _ubsanext: an extension module built -fsanitize=undefined alone, for Debian's python3.11-dbg
 * run with LD_PRELOAD naming gcc's libubsan (`leakcheck --sanitizer ubsan`). Built with ASAN
 * too (`_asanext`), gcc 12's UBSan wrote its reports to stderr whatever UBSAN_OPTIONS or
 * ASAN_OPTIONS said of log_path; alone, it honours UBSAN_OPTIONS=log_path.
 * interleaved_overflow: the same bug, its report on stderr with lines of stdout between its lines
 * (test_ubsanext_interleaved.py). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* INT_MAX + 1: signed-integer-overflow (UBSan reports and goes on). */
static volatile int big = 2147483647;

static PyObject *
signed_overflow(PyObject *self, PyObject *unused)
{
    int sum = big + 1; /* MARK ubsan_signed_overflow */
    return PyLong_FromLong(sum);
}

static volatile int interleaved_sum;

/* Write all of `size` bytes to `fd`; false on an error. */
static int
write_all(int fd, const char *bytes, size_t size)
{
    while (size > 0) {
        ssize_t written = write(fd, bytes, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return 0;
        bytes += written;
        size -= (size_t)written;
    }
    return 1;
}

/* Wait until the reader of `fd` (leakcheck, when `fd` is a pipe) has read all that was written
 * to it, so that it reads what comes next after it, on whichever pipe. Not a pipe: no wait. The
 * wait gives up after ten million turns, should nothing read. */
static void
wait_read(int fd)
{
    int unread = 0;
    for (long turns = 0; turns < 10000000 && ioctl(fd, FIONREAD, &unread) == 0 && unread > 0; turns++)
        sched_yield();
}

/* The same bug on another line, its report interleaved with another stream's output: the runtime
 * writes it to a pipe (the function's fd 2 for the call), and this function copies it to stderr
 * line by line, writing `other` (one line) to stdout after each of them but the last, each write
 * read by leakcheck before the next is made. So unittest's `test_x (...) ... ok` on stdout comes
 * between a report's lines on stderr, as when the two streams are two pipes (a buildbot's step),
 * in an order fixed here rather than left to the scheduler. */
static PyObject *
interleaved_overflow(PyObject *self, PyObject *args)
{
    const char *other;
    Py_ssize_t other_size;
    if (!PyArg_ParseTuple(args, "y#", &other, &other_size))
        return NULL;
    int fds[2];
    if (pipe(fds) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    int saved = dup(2);
    if (saved < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    /* Room for the whole report: the runtime writes it before anything reads the pipe. */
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    dup2(fds[1], 2);
    /* A volatile store, so that the addition (and its report) is made before the call after. */
    interleaved_sum = big + 2; /* MARK ubsan_interleaved */
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    size_t size = 0, capacity = 1 << 20;
    char *report = malloc(capacity);
    if (report == NULL) {
        close(fds[0]);
        return PyErr_NoMemory();
    }
    for (;;) {
        ssize_t got = read(fds[0], report + size, capacity - size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || (size += (size_t)got) == capacity)
            break;
    }
    close(fds[0]);
    for (size_t start = 0; start < size;) {
        const char *end = memchr(report + start, '\n', size - start);
        size_t line = end != NULL ? (size_t)(end - (report + start)) + 1 : size - start;
        if (!write_all(2, report + start, line))
            break;
        start += line;
        wait_read(2);
        if (start < size) {
            if (!write_all(1, other, (size_t)other_size))
                break;
            wait_read(1);
        }
    }
    free(report);
    return PyLong_FromLong(interleaved_sum);
}

static PyMethodDef ubsanext_methods[] = {
    {"signed_overflow", signed_overflow, METH_NOARGS, "UBSan signed-integer-overflow"},
    {"interleaved_overflow", interleaved_overflow, METH_VARARGS,
     "UBSan signed-integer-overflow, its report on stderr interleaved with the line given on stdout"},
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
