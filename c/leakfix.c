/* _leakfix: an extension module that leaks on purpose, one function per allocator domain.
 *
 * Each function runs once per regrtest -R repetition (see regrtest/test_leak_*.py), so a leak
 * here shows as +1 block per repetition in exactly one domain. The line of each allocating call
 * is what leakcheck's call-site attribution must point at: keep them on their own lines.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <ucontext.h>

/* +1 object (an `object()` instance) per call: regrtest sees references and memory blocks;
 * leakcheck sees obj. */
static PyObject *
leak_object(PyObject *self, PyObject *unused)
{
    PyObject *leaked = PyType_GenericNew(&PyBaseObject_Type, NULL, NULL);
    if (leaked == NULL) {
        return NULL;
    }
    /* deliberately never released */
    Py_RETURN_NONE;
}

/* +1 PyMem_Malloc block of 24 bytes per call: regrtest sees memory blocks; leakcheck sees mem. */
static PyObject *
leak_mem(PyObject *self, PyObject *unused)
{
    void *leaked = PyMem_Malloc(24);
    if (leaked == NULL) {
        return PyErr_NoMemory();
    }
    memset(leaked, 0x24, 24);
    Py_RETURN_NONE;
}

/* +1 PyMem_RawMalloc block of 48 bytes per call: regrtest cannot see it; leakcheck sees raw. */
static PyObject *
leak_raw(PyObject *self, PyObject *unused)
{
    void *leaked = PyMem_RawMalloc(48);
    if (leaked == NULL) {
        return PyErr_NoMemory();
    }
    memset(leaked, 0x48, 48);
    Py_RETURN_NONE;
}

/* +1 PyMem_RawMalloc block of 72 bytes per call, allocated with the GIL released, as
 * CPython's own I/O code allocates its buffers. */
static PyObject *
leak_raw_nogil(PyObject *self, PyObject *unused)
{
    void *leaked;
    Py_BEGIN_ALLOW_THREADS
    leaked = PyMem_RawMalloc(72);
    if (leaked != NULL) {
        memset(leaked, 0x72, 72);
    }
    Py_END_ALLOW_THREADS
    if (leaked == NULL) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* +N PyMem_RawMalloc blocks of 40 bytes per call (METH_O: N). 3.11's adaptive interpreter
 * specializes a call to a METH_O function after some calls and then calls it from another
 * place of its eval loop: test_leak_specialized.py makes that happen between two counted
 * repetitions. */
static PyObject *
leak_raw_n(PyObject *self, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        void *leaked = PyMem_RawMalloc(40);
        if (leaked == NULL) {
            return PyErr_NoMemory();
        }
        memset(leaked, 0x40, 40);
    }
    Py_RETURN_NONE;
}

/* +2 PyMem_RawMalloc blocks of 32 bytes per call, from the one allocating line of a loop of two
 * iterations, which gcc -O2 unrolls into two calls: two return addresses of one source line,
 * one leak site. */
static PyObject *
leak_raw_unrolled(PyObject *self, PyObject *unused)
{
    for (int i = 0; i < 2; i++) {
        void *leaked = PyMem_RawMalloc(32);
        if (leaked == NULL) {
            return PyErr_NoMemory();
        }
        memset(leaked, 0x32, 32);
    }
    Py_RETURN_NONE;
}

/* +1 PyMem_RawMalloc block of 56 bytes per call, allocated on a coroutine's stack (made with
 * makecontext, as greenlet makes its own): the shim unwinds only the thread's stack, so the site
 * has no native frame, and its Python lines must tell it. */
static ucontext_t coroutine_caller, coroutine;
static char coroutine_stack[64 * 1024];

static void
coroutine_body(void)
{
    void *leaked = PyMem_RawMalloc(56);
    if (leaked != NULL) {
        memset(leaked, 0x56, 56);
    }
}

static PyObject *
leak_raw_on_coroutine(PyObject *self, PyObject *unused)
{
    if (getcontext(&coroutine) != 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    coroutine.uc_stack.ss_sp = coroutine_stack;
    coroutine.uc_stack.ss_size = sizeof(coroutine_stack);
    coroutine.uc_link = &coroutine_caller;
    makecontext(&coroutine, coroutine_body, 0);
    if (swapcontext(&coroutine_caller, &coroutine) != 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

/* +1 PyMem_Malloc block per call, grown by PyMem_Realloc from 16 to 72 bytes (pymalloc moves
 * it to another size class): the site is the realloc's line, as tracemalloc attributes it. */
static PyObject *
leak_mem_realloc(PyObject *self, PyObject *unused)
{
    char *small = PyMem_Malloc(16);
    if (small == NULL) {
        return PyErr_NoMemory();
    }
    char *grown = PyMem_Realloc(small, 72);
    if (grown == NULL) {
        PyMem_Free(small);
        return PyErr_NoMemory();
    }
    memset(grown, 0x72, 72);
    Py_RETURN_NONE;
}

/* A ring of three PyMem_RawMalloc blocks of 48 bytes (leak_raw's size): each call frees the
 * oldest and puts a new one in its place, so the ring holds three blocks however often it is
 * called. No leak; but a block made in a counted repetition lives on while one made in a
 * warm-up dies, so the site of the new ones grows in every counted repetition. */
static void *ring[3];
static int ring_next;

static PyObject *
ring_push(PyObject *self, PyObject *unused)
{
    PyMem_RawFree(ring[ring_next]);
    ring[ring_next] = PyMem_RawMalloc(48);
    if (ring[ring_next] == NULL) {
        return PyErr_NoMemory();
    }
    memset(ring[ring_next], 0x48, 48);
    ring_next = (ring_next + 1) % 3;
    Py_RETURN_NONE;
}

/* +1 PyMem_RawMalloc block of 56 bytes per call, for ctypes: test_leak_unloaded_library.py
 * calls it in a copy of this module loaded with ctypes.CDLL and unloaded again in every
 * repetition, so the shim never lists the copy among the process's modules. */
__attribute__((visibility("default"), noipa)) void
leakfix_leak_raw_for_ctypes(void)
{
    void *leaked = PyMem_RawMalloc(56);
    __asm__ volatile("" ::: "memory");
    if (leaked != NULL) {
        memset(leaked, 0x56, 56);
    }
}

/* The extension's own helper, named as CPython's internal `gc_alloc` is (Modules/gcmodule.c):
 * it is the code that asks for the memory, not allocator plumbing to fold away. noipa keeps
 * it a call of its own under its own name (no inlining, no `.constprop` copy), and the empty
 * asm after the call keeps that call from becoming a jump (a tail call leaves no frame). */
static void * __attribute__((noipa))
gc_alloc(size_t size)
{
    void *block = PyMem_RawMalloc(size);
    __asm__ volatile("" ::: "memory");
    return block;
}

/* +1 PyMem_RawMalloc block of 264 bytes per call, through the helper above. */
static PyObject *
leak_raw_named_like_allocator(PyObject *self, PyObject *unused)
{
    void *leaked = gc_alloc(264);
    if (leaked == NULL) {
        return PyErr_NoMemory();
    }
    memset(leaked, 0x26, 264);
    Py_RETURN_NONE;
}

/* A ring of eight PyMem_RawMalloc buffers, each call replacing the oldest with a bigger one
 * (64 bytes more each time): the ring holds eight blocks however often it is called. Filled
 * before the test (test_ring_full_before_growing.py), each call frees a block from before the
 * test, of another size each time. */
static void *growing_ring[8];
static int growing_next;
static size_t growing_calls;

static PyObject *
ring_push_growing(PyObject *self, PyObject *unused)
{
    size_t size = 48 + 64 * ++growing_calls;
    PyMem_RawFree(growing_ring[growing_next]);
    growing_ring[growing_next] = PyMem_RawMalloc(size);
    if (growing_ring[growing_next] == NULL) {
        return PyErr_NoMemory();
    }
    memset(growing_ring[growing_next], 0x48, size);
    growing_next = (growing_next + 1) % 8;
    Py_RETURN_NONE;
}

/* Allocates in every domain and frees it all: no domain may move. */
static PyObject *
balanced(PyObject *self, PyObject *unused)
{
    void *raw = PyMem_RawMalloc(48);
    void *mem = PyMem_Malloc(24);
    void *big = PyObject_Malloc(4096);
    PyObject *obj = PyList_New(3);
    if (raw == NULL || mem == NULL || big == NULL || obj == NULL) {
        PyMem_RawFree(raw);
        PyMem_Free(mem);
        PyObject_Free(big);
        Py_XDECREF(obj);
        return PyErr_NoMemory();
    }
    mem = PyMem_Realloc(mem, 100);
    PyMem_RawFree(raw);
    PyMem_Free(mem);
    PyObject_Free(big);
    Py_DECREF(obj);
    Py_RETURN_NONE;
}

/* `_leakfix.LeakyNew()`: a type whose tp_new makes a temporary dict and forgets its
 * Py_DECREF, one dict per instance. The dict comes from CPython's dict free list while that
 * holds some (regrtest's gc.collect() empties it before each repetition, and unittest's own
 * code puts a few back), from the allocator, at the PyDict_New line, after. */
typedef struct {
    PyObject_HEAD
} LeakyNewObject;

static PyObject *
leaky_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *self = type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    PyObject *temporary = PyDict_New();
    if (temporary == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    /* forgot Py_DECREF(temporary) */
    return self;
}

static PyTypeObject LeakyNewType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_leakfix.LeakyNew",
    .tp_basicsize = sizeof(LeakyNewObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = leaky_new,
};


/* +1 PyMem_RawMalloc block of 120 bytes per call, from one helper that two C paths share, as an
 * encoder's list and dict paths do: leak_raw_two_paths(obj) takes the dict path for a dict, the
 * list path otherwise. Called with each in turn from one Python line, the site's C frames differ
 * every other repetition; its allocating line and Python line do not. */
static int __attribute__((noinline))
two_paths_leaf(void)
{
    void *leaked = PyMem_RawMalloc(120);
    if (leaked == NULL) {
        return -1;
    }
    memset(leaked, 0x12, 120);
    return 0;
}

/* Each path counts its calls in a counter of its own, so that gcc -O2 does not fold the two
 * functions into one (identical code folding): they must be two C paths. */
static volatile long two_paths_list_calls, two_paths_dict_calls;

static int __attribute__((noinline))
two_paths_list(void)
{
    int r = two_paths_leaf();
    two_paths_list_calls++;
    return r;
}

static int __attribute__((noinline))
two_paths_dict(void)
{
    int r = two_paths_leaf();
    two_paths_dict_calls++;
    return r;
}

static PyObject *
leak_raw_two_paths(PyObject *self, PyObject *obj)
{
    if ((PyDict_Check(obj) ? two_paths_dict() : two_paths_list()) < 0) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}


/* A pool of 200-byte PyMem_Malloc blocks: pool_fill_once(n) fills it with n blocks on its first
 * call only (in the first warm-up repetition), pool_pop() frees one per call. Beside leak_mem
 * (24 bytes), one pop per repetition keeps the mem domain flat: a leak hidden by warm-up blocks
 * of another size freed as fast. */
#define POOL_MAX 256
static void *pool[POOL_MAX];
static long pool_len, pool_filled;

static PyObject *
pool_fill_once(PyObject *self, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (pool_filled) {
        Py_RETURN_NONE;
    }
    pool_filled = 1;
    for (; pool_len < n && pool_len < POOL_MAX; pool_len++) {
        pool[pool_len] = PyMem_Malloc(200);
        if (pool[pool_len] == NULL) {
            return PyErr_NoMemory();
        }
        memset(pool[pool_len], 0x20, 200);
    }
    Py_RETURN_NONE;
}

static PyObject *
pool_pop(PyObject *self, PyObject *unused)
{
    if (pool_len > 0) {
        pool_len--;
        PyMem_Free(pool[pool_len]);
        pool[pool_len] = NULL;
    }
    Py_RETURN_NONE;
}

static int
leakfix_exec(PyObject *module)
{
    if (PyType_Ready(&LeakyNewType) < 0) {
        return -1;
    }
    Py_INCREF(&LeakyNewType);
    if (PyModule_AddObject(module, "LeakyNew", (PyObject *)&LeakyNewType) < 0) {
        Py_DECREF(&LeakyNewType);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot leakfix_slots[] = {
    {Py_mod_exec, leakfix_exec},
    {0, NULL},
};

static PyMethodDef leakfix_methods[] = {
    {"leak_object", leak_object, METH_NOARGS, "Leak one list object."},
    {"leak_mem", leak_mem, METH_NOARGS, "Leak one 24-byte PyMem_Malloc block."},
    {"leak_raw", leak_raw, METH_NOARGS, "Leak one 48-byte PyMem_RawMalloc block."},
    {"leak_raw_n", leak_raw_n, METH_O, "Leak N 40-byte PyMem_RawMalloc blocks."},
    {"leak_raw_nogil", leak_raw_nogil, METH_NOARGS,
     "Leak one 72-byte PyMem_RawMalloc block, allocated with the GIL released."},
    {"leak_raw_unrolled", leak_raw_unrolled, METH_NOARGS,
     "Leak two 32-byte PyMem_RawMalloc blocks from one line of an unrolled loop."},
    {"leak_raw_on_coroutine", leak_raw_on_coroutine, METH_NOARGS,
     "Leak one 56-byte PyMem_RawMalloc block from a makecontext coroutine's stack."},
    {"leak_mem_realloc", leak_mem_realloc, METH_NOARGS,
     "Leak one PyMem_Malloc block grown by PyMem_Realloc to 72 bytes."},
    {"ring_push", ring_push, METH_NOARGS,
     "Replace the oldest of a ring of three 48-byte PyMem_RawMalloc blocks."},
    {"leak_raw_named_like_allocator", leak_raw_named_like_allocator, METH_NOARGS,
     "Leak one 264-byte PyMem_RawMalloc block through a helper named gc_alloc."},
    {"ring_push_growing", ring_push_growing, METH_NOARGS,
     "Replace the oldest of a ring of eight PyMem_RawMalloc blocks with a bigger one."},
    {"leak_raw_two_paths", leak_raw_two_paths, METH_O,
     "Leak one 120-byte PyMem_RawMalloc block through a dict or a list path sharing a helper."},
    {"pool_fill_once", pool_fill_once, METH_O,
     "On the first call only, fill a pool with N 200-byte PyMem_Malloc blocks."},
    {"pool_pop", pool_pop, METH_NOARGS, "Free one block of the pool, if any."},
    {"balanced", balanced, METH_NOARGS, "Allocate in every domain and free it all."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef leakfix_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_leakfix",
    .m_doc = "leakcheck's leaking fixture",
    .m_size = 0,
    .m_methods = leakfix_methods,
    .m_slots = leakfix_slots,
};

PyMODINIT_FUNC
PyInit__leakfix(void)
{
    return PyModuleDef_Init(&leakfix_module);
}
