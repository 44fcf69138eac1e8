/* _hangfix: an extension module that deadlocks on purpose, for leakcheck's hang watch.
 *
 * Each function blocks forever in a way `leakcheck` must diagnose and end; the GIL is released
 * while blocking, as real C code that waits does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <semaphore.h>
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

static PyMethodDef hangfix_methods[] = {
    {"mutex_cycle", mutex_cycle, METH_NOARGS, "Deadlock two threads on two mutexes."},
    {"fork_with_locked_mutex", fork_with_locked_mutex, METH_NOARGS, "Fork while a mutex is held."},
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
