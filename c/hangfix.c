/* _hangfix: an extension module that deadlocks on purpose, for leakcheck's hang watch.
 *
 * Each function blocks forever in a way `leakcheck` must diagnose and end; the GIL is released
 * while blocking, as real C code that waits does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one;

static void *
take_first_then_second(void *unused)
{
    pthread_mutex_lock(&first);
    pthread_barrier_wait(&both_hold_one);
    pthread_mutex_lock(&second); /* deadlocks: the other thread holds it */
    return NULL;
}

static void *
take_second_then_first(void *unused)
{
    pthread_mutex_lock(&second);
    pthread_barrier_wait(&both_hold_one);
    pthread_mutex_lock(&first); /* deadlocks: the other thread holds it */
    return NULL;
}

/* Two threads take two mutexes in opposite order; the caller joins them: a lock cycle. */
static PyObject *
mutex_cycle(PyObject *self, PyObject *unused)
{
    pthread_t a, b;
    pthread_barrier_init(&both_hold_one, NULL, 2);
    Py_BEGIN_ALLOW_THREADS
    pthread_create(&a, NULL, take_first_then_second, NULL);
    pthread_create(&b, NULL, take_second_then_first, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static pthread_mutex_t inherited = PTHREAD_MUTEX_INITIALIZER;
static sem_t locked, release;

static void *
hold_across_fork(void *unused)
{
    pthread_mutex_lock(&inherited);
    sem_post(&locked);
    sem_wait(&release);
    pthread_mutex_unlock(&inherited);
    return NULL;
}

/* A thread holds a mutex while the main thread forks; the child takes the mutex, which it
 * inherited locked by a thread it does not have: it waits forever. Returns the child's wait
 * status once something ends the child. */
static PyObject *
fork_with_locked_mutex(PyObject *self, PyObject *unused)
{
    pthread_t holder;
    int status = 0;
    sem_init(&locked, 0, 0);
    sem_init(&release, 0, 0);
    pthread_create(&holder, NULL, hold_across_fork, NULL);
    sem_wait(&locked);
    pid_t child = fork();
    if (child == 0) {
        pthread_mutex_lock(&inherited); /* never returns */
        _exit(0);
    }
    sem_post(&release);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(holder, NULL);
    waitpid(child, &status, 0);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(status);
}

/* Not a hang: a process-shared mutex, locked by this process for `seconds`, waited for by a
 * forked child meanwhile. The child's mutex records an owner that is no thread of the child, but
 * that thread lives (in the parent) and unlocks it. Returns the child's wait status (0). */
static PyObject *
pshared_wait(PyObject *self, PyObject *arg)
{
    long seconds = PyLong_AsLong(arg);
    if (seconds < 0 && PyErr_Occurred()) {
        return NULL;
    }
    pthread_mutex_t *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(shared, &attr);
    pthread_mutex_lock(shared);
    int status = -1;
    pid_t child = fork();
    if (child == 0) {
        pthread_mutex_lock(shared); /* waits for the parent */
        pthread_mutex_unlock(shared);
        _exit(0);
    }
    Py_BEGIN_ALLOW_THREADS
    sleep((unsigned)seconds);
    pthread_mutex_unlock(shared);
    waitpid(child, &status, 0);
    Py_END_ALLOW_THREADS
    munmap(shared, sizeof *shared);
    return PyLong_FromLong(status);
}

static PyMethodDef hangfix_methods[] = {
    {"mutex_cycle", mutex_cycle, METH_NOARGS, "Deadlock two threads on two mutexes."},
    {"fork_with_locked_mutex", fork_with_locked_mutex, METH_NOARGS, "Fork while a mutex is held."},
    {"pshared_wait", pshared_wait, METH_O, "A child waits for a process-shared mutex its parent holds."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef hangfix_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_hangfix",
    .m_doc = "leakcheck's deadlocking fixture",
    .m_size = 0,
    .m_methods = hangfix_methods,
};

PyMODINIT_FUNC
PyInit__hangfix(void)
{
    return PyModuleDef_Init(&hangfix_module);
}
