/* _hangfix: an extension module that deadlocks on purpose, for leakcheck's hang watch.
 *
 * Each function blocks forever in a way `leakcheck` must diagnose and end, or (those that say
 * "not a hang") for a while in a way it must leave alone; the GIL is released while blocking, as
 * real C code that waits does (but in `gil_cycle`, whose bug is not to).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A lock cycle a test leaves behind: two threads of their own, which nobody joins, each
 * holding one mutex of a pair on the heap (a new pair each call: a test that calls it in every
 * `-R` repetition leaves a cycle each time) and waiting for the other. */
struct left_cycle {
    pthread_mutex_t a, b;
    pthread_barrier_t holding;
};

static void *
left_a_then_b(void *arg)
{
    struct left_cycle *cycle = arg;
    pthread_mutex_lock(&cycle->a);
    pthread_barrier_wait(&cycle->holding);
    pthread_mutex_lock(&cycle->b); /* deadlocks, left behind */
    return NULL;
}

static void *
left_b_then_a(void *arg)
{
    struct left_cycle *cycle = arg;
    pthread_mutex_lock(&cycle->b);
    pthread_barrier_wait(&cycle->holding);
    pthread_mutex_lock(&cycle->a); /* deadlocks, left behind */
    return NULL;
}

/* Start the two threads and return once each holds its first mutex: they deadlock a moment
 * later, and the caller goes on. The pair is never freed: the threads wait on it for good. */
static PyObject *
leave_mutex_cycle(PyObject *self, PyObject *unused)
{
    struct left_cycle *cycle = malloc(sizeof *cycle);
    pthread_attr_t detached;
    pthread_t a, b;
    if (cycle == NULL) {
        return PyErr_NoMemory();
    }
    pthread_mutex_init(&cycle->a, NULL);
    pthread_mutex_init(&cycle->b, NULL);
    pthread_barrier_init(&cycle->holding, NULL, 3);
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    Py_BEGIN_ALLOW_THREADS
    pthread_create(&a, &detached, left_a_then_b, cycle);
    pthread_create(&b, &detached, left_b_then_a, cycle);
    pthread_barrier_wait(&cycle->holding);
    Py_END_ALLOW_THREADS
    pthread_attr_destroy(&detached);
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

/* A parent and the child it forks take two process-shared mutexes in opposite orders: the parent
 * holds `a` and waits for `b`, the child holds `b` and waits for `a`, for good (a lock cycle
 * across two processes). Never returns. */
static PyObject *
pshared_cycle(PyObject *self, PyObject *unused)
{
    struct cycle {
        pthread_mutex_t a, b;
        sem_t child_has_b;
    } *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&shared->a, &attr);
    pthread_mutex_init(&shared->b, &attr);
    pthread_mutexattr_destroy(&attr);
    sem_init(&shared->child_has_b, 1, 0);
    pthread_mutex_lock(&shared->a);
    pid_t child = fork();
    if (child < 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (child == 0) {
        pthread_mutex_lock(&shared->b);
        sem_post(&shared->child_has_b);
        pthread_mutex_lock(&shared->a); /* deadlocks: the parent holds a */
        _exit(0);
    }
    Py_BEGIN_ALLOW_THREADS
    while (sem_wait(&shared->child_has_b) != 0) {
    }
    pthread_mutex_lock(&shared->b); /* deadlocks: the child holds b */
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* Two children the caller forks each take a process-shared mutex of their own, then the
 * other's: each waits for good for the one its sibling holds, and the caller waits for both
 * (a lock cycle across two processes that neither descends from the other). Never returns. */
static PyObject *
pshared_sibling_cycle(PyObject *self, PyObject *unused)
{
    struct siblings {
        pthread_mutex_t mutex[2];
        sem_t holding, go;
    } *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    for (int k = 0; k < 2; k++) {
        pthread_mutex_init(&shared->mutex[k], &attr);
    }
    pthread_mutexattr_destroy(&attr);
    sem_init(&shared->holding, 1, 0);
    sem_init(&shared->go, 1, 0);
    pid_t children[2];
    for (int k = 0; k < 2; k++) {
        children[k] = fork();
        if (children[k] < 0) {
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        if (children[k] == 0) {
            pthread_mutex_lock(&shared->mutex[k]);
            sem_post(&shared->holding);
            /* Both hold their own before either asks for the other's. */
            while (sem_wait(&shared->go) != 0) {
            }
            pthread_mutex_lock(&shared->mutex[1 - k]); /* deadlocks: the sibling holds it */
            _exit(0);
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (int k = 0; k < 2; k++) {
        while (sem_wait(&shared->holding) != 0) {
        }
    }
    sem_post(&shared->go);
    sem_post(&shared->go);
    for (int k = 0; k < 2; k++) {
        int status;
        waitpid(children[k], &status, 0);
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* glibc's stdio lock (`_IO_lock_t`: lock word, count, the owner's `struct pthread *`) is no
 * pthread_mutex_t: where a mutex records its owner's TID, it holds the low half of a pointer. The
 * threads that hold `stderr`'s lock below run on a stack mapped at a fixed low address, so that
 * their `struct pthread` (at the top of the stack) has a low half that is a positive number and
 * no TID: misreading the FILE lock as a mutex then always invents an owner, whatever ASLR does. */
#define LOW_STACK_ADDRESS ((void *)0x40000000)
#define LOW_STACK_SIZE (1 << 20)

/* Start `run` on the low stack (on a stack of glibc's if that address is taken); `*stack` is the
 * mapping to unmap after the join, or MAP_FAILED. */
static int
start_on_low_stack(pthread_t *thread, void *(*run)(void *), void **stack)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    *stack = mmap(LOW_STACK_ADDRESS, LOW_STACK_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_FIXED_NOREPLACE, -1, 0);
    if (*stack != MAP_FAILED) {
        pthread_attr_setstack(&attr, *stack, LOW_STACK_SIZE);
    }
    int err = pthread_create(thread, &attr, run, NULL);
    pthread_attr_destroy(&attr);
    return err;
}

static sem_t stderr_locked;
static unsigned int stderr_hold_seconds;

static void *
hold_stderr_a_while(void *unused)
{
    flockfile(stderr);
    sem_post(&stderr_locked);
    sleep(stderr_hold_seconds);
    funlockfile(stderr);
    return NULL;
}

/* Not a hang: a thread holds stderr's lock for `seconds` (sleeping) while the caller writes to
 * stderr, waiting for that lock in glibc's `__lll_lock_wait_private` meanwhile. */
static PyObject *
stdio_wait(PyObject *self, PyObject *arg)
{
    long seconds = PyLong_AsLong(arg);
    if (seconds < 0 && PyErr_Occurred()) {
        return NULL;
    }
    stderr_hold_seconds = (unsigned)seconds;
    sem_init(&stderr_locked, 0, 0);
    pthread_t holder;
    void *stack;
    Py_BEGIN_ALLOW_THREADS
    start_on_low_stack(&holder, hold_stderr_a_while, &stack);
    sem_wait(&stderr_locked);
    fprintf(stderr, "stdio_wait: stderr is free again\n"); /* waits for the holder */
    pthread_join(holder, NULL);
    Py_END_ALLOW_THREADS
    if (stack != MAP_FAILED) {
        munmap(stack, LOW_STACK_SIZE);
    }
    Py_RETURN_NONE;
}

static pthread_mutex_t stdio_gate = PTHREAD_MUTEX_INITIALIZER;

static void *
hold_stderr_take_gate(void *unused)
{
    flockfile(stderr);
    sem_post(&stderr_locked);
    pthread_mutex_lock(&stdio_gate); /* deadlocks: the caller holds it */
    funlockfile(stderr);
    return NULL;
}

/* A real deadlock between stderr's lock and a mutex: the caller holds the mutex and writes to
 * stderr; a thread holds stderr's lock and takes the mutex. */
static PyObject *
stdio_cycle(PyObject *self, PyObject *unused)
{
    sem_init(&stderr_locked, 0, 0);
    pthread_t holder;
    void *stack;
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&stdio_gate);
    start_on_low_stack(&holder, hold_stderr_take_gate, &stack);
    sem_wait(&stderr_locked);
    fprintf(stderr, "stdio_cycle: never printed\n"); /* deadlocks: the thread holds stderr */
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static pthread_mutex_t gil_gate = PTHREAD_MUTEX_INITIALIZER;
static sem_t gate_locked;

static void *
hold_gate_take_gil(void *unused)
{
    pthread_mutex_lock(&gil_gate);
    sem_post(&gate_locked);
    PyGILState_STATE state = PyGILState_Ensure(); /* deadlocks: the caller holds the GIL */
    PyGILState_Release(state);
    pthread_mutex_unlock(&gil_gate);
    return NULL;
}

/* The classic extension bug: the caller keeps the GIL while it waits for a mutex that a thread
 * holds, and that thread waits for the GIL. */
static PyObject *
gil_cycle(PyObject *self, PyObject *unused)
{
    pthread_t holder;
    sem_init(&gate_locked, 0, 0);
    pthread_create(&holder, NULL, hold_gate_take_gil, NULL);
    sem_wait(&gate_locked);
    pthread_mutex_lock(&gil_gate); /* deadlocks: the thread holds it, and waits for the GIL */
    Py_RETURN_NONE;
}

static pthread_mutex_t pi_first, pi_second;
static pthread_barrier_t both_hold_one_pi;

static void *
take_pi_first_then_second(void *unused)
{
    pthread_mutex_lock(&pi_first);
    pthread_barrier_wait(&both_hold_one_pi);
    pthread_mutex_lock(&pi_second); /* PI deadlock: the other thread holds it */
    return NULL;
}

static void *
take_pi_second_then_first(void *unused)
{
    pthread_mutex_lock(&pi_second);
    pthread_barrier_wait(&both_hold_one_pi);
    pthread_mutex_lock(&pi_first); /* PI deadlock: the other thread holds it */
    return NULL;
}

/* The lock cycle of mutex_cycle on priority-inheritance mutexes. The kernel sees the cycle: the
 * second thread to block gets EDEADLK from FUTEX_LOCK_PI, and glibc then parks it for good in a
 * futex wait on a word of its own stack, while the other sleeps in FUTEX_LOCK_PI on its mutex. */
static PyObject *
pi_mutex_cycle(PyObject *self, PyObject *unused)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&pi_first, &attr);
    pthread_mutex_init(&pi_second, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_barrier_init(&both_hold_one_pi, NULL, 2);
    pthread_t a, b;
    Py_BEGIN_ALLOW_THREADS
    pthread_create(&a, NULL, take_pi_first_then_second, NULL);
    pthread_create(&b, NULL, take_pi_second_then_first, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static unsigned int sleeper_seconds, sleeper_rounds;
static pthread_mutex_t sleeper_holds = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t sleeper_holds_it;

static void *
sleep_in_c(void *unused)
{
    for (unsigned int round = 0; round < sleeper_rounds; round++) {
        sleep(sleeper_seconds); /* a relative clock_nanosleep: a stop restarts it as restart_syscall */
    }
    return NULL;
}

static void *
sleep_holding_mutex(void *unused)
{
    pthread_mutex_lock(&sleeper_holds);
    pthread_barrier_wait(&sleeper_holds_it);
    sleep_in_c(NULL);
    pthread_mutex_unlock(&sleeper_holds);
    return NULL;
}

/* Not a hang (with rounds 1): a C thread sleeps `seconds` in sleep(3), `rounds` times, while the
 * caller waits for it, in pthread_join or (through_mutex) for a mutex the sleeper holds: an
 * untimed futex wait beside a sleep, which the early inspection stops, so that the sleep goes on
 * in restart_syscall. */
static PyObject *
join_c_sleeper(PyObject *self, PyObject *args)
{
    unsigned int seconds, rounds;
    int through_mutex;
    if (!PyArg_ParseTuple(args, "IIp", &seconds, &rounds, &through_mutex)) {
        return NULL;
    }
    sleeper_seconds = seconds;
    sleeper_rounds = rounds;
    pthread_t sleeper;
    Py_BEGIN_ALLOW_THREADS
    if (through_mutex) {
        pthread_barrier_init(&sleeper_holds_it, NULL, 2);
        pthread_create(&sleeper, NULL, sleep_holding_mutex, NULL);
        pthread_barrier_wait(&sleeper_holds_it);
        pthread_mutex_lock(&sleeper_holds); /* waits for the sleeper */
        pthread_mutex_unlock(&sleeper_holds);
    } else {
        pthread_create(&sleeper, NULL, sleep_in_c, NULL);
    }
    pthread_join(sleeper, NULL); /* waits for the sleeper */
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* A hang whose parent cannot be stopped: vfork a child that waits, before it would exec, for a
 * byte that never comes (a pipe whose write end the parent keeps). The parent stays in vfork's
 * uninterruptible wait (state D) until the child execs or exits; the child sleeps in read. */
static PyObject *
vfork_waiting_child(PyObject *self, PyObject *unused)
{
    int status = 0, fds[2];
    char byte;
    if (pipe(fds) != 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    pid_t child;
    Py_BEGIN_ALLOW_THREADS
    child = vfork();
    if (child == 0) {
        if (read(fds[0], &byte, 1) == 1) { /* never returns: vfork_waiting_child's read */
            execl("/bin/true", "true", (char *)NULL);
        }
        _exit(1);
    }
    waitpid(child, &status, 0);
    Py_END_ALLOW_THREADS
    close(fds[0]);
    close(fds[1]);
    return PyLong_FromLong(status);
}

/* A lock cycle through pthread_cond_wait's re-lock of its mutex: thread A holds `cond_other`
 * and waits on `cond_var` with `cond_mutex`; thread B locks `cond_mutex`, signals, and then
 * waits for `cond_other` while still holding `cond_mutex`. A, woken, re-locks `cond_mutex` in
 * glibc's __pthread_mutex_cond_lock (held by B): a cycle. The caller joins A. */
static pthread_mutex_t cond_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cond_other = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond_var = PTHREAD_COND_INITIALIZER;
static int cond_a_waiting, cond_signalled;

static void *
cond_waiter(void *unused)
{
    pthread_mutex_lock(&cond_other);
    pthread_mutex_lock(&cond_mutex);
    cond_a_waiting = 1;
    while (!cond_signalled) {
        pthread_cond_wait(&cond_var, &cond_mutex); /* re-locks cond_mutex, held by the signaller */
    }
    return NULL;
}

static void *
cond_signaller(void *unused)
{
    for (;;) {
        pthread_mutex_lock(&cond_mutex);
        if (cond_a_waiting) {
            break;
        }
        pthread_mutex_unlock(&cond_mutex);
        usleep(1000);
    }
    cond_signalled = 1;
    pthread_cond_signal(&cond_var);
    usleep(100000);
    pthread_mutex_lock(&cond_other); /* held by the waiter */
    return NULL;
}

static PyObject *
cond_relock_cycle(PyObject *self, PyObject *unused)
{
    pthread_t a, b;
    Py_BEGIN_ALLOW_THREADS
    pthread_create(&a, NULL, cond_waiter, NULL);
    pthread_create(&b, NULL, cond_signaller, NULL);
    pthread_join(a, NULL);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* A default (process-private) mutex in MAP_SHARED memory, used across fork: the parent locks it
 * after the fork and waits for the child, which waits for it. The child's mutex records an owner
 * that lives, in the parent; and since the mutex is not process-shared, the parent's unlock
 * would not even wake the child (a private futex wake stays in its process). */
static PyObject *
shared_private_mutex(PyObject *self, PyObject *unused)
{
    pthread_mutex_t *m = mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    pthread_mutex_init(m, NULL);
    int status = 0;
    pid_t child = fork();
    if (child == 0) {
        usleep(300000);
        pthread_mutex_lock(m); /* held by the parent, which waits for this child */
        _exit(0);
    }
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(m);
    waitpid(child, &status, 0);
    pthread_mutex_unlock(m);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(status);
}

/* A mutex cycle at C recursion depth `depth` (the far end of each thread's stack from where it
 * waits): the main thread and a thread it starts lock two mutexes in opposite orders, each
 * second lock `depth` calls down. */
static pthread_mutex_t deep_first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t deep_second = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t deep_both;

static int lock_deep_down(int depth, pthread_mutex_t *mutex);
/* Called through a volatile pointer, with a volatile local: -O2 turns neither the recursion into
 * a loop nor the last call into a jump, so every level keeps its frame. */
static int (*volatile deep_next)(int, pthread_mutex_t *) = lock_deep_down;

static int
lock_deep_down(int depth, pthread_mutex_t *mutex)
{
    volatile int level = depth;
    if (depth > 0) {
        return deep_next(depth - 1, mutex) + level;
    }
    pthread_mutex_lock(mutex); /* lock_deep_down's wait */
    return level;
}

static void *
deep_other(void *arg)
{
    pthread_mutex_lock(&deep_second);
    pthread_barrier_wait(&deep_both);
    lock_deep_down((int)(long)arg, &deep_first);
    return NULL;
}

static PyObject *
deep_mutex_cycle(PyObject *self, PyObject *arg)
{
    long depth = PyLong_AsLong(arg);
    if (depth < 0 && PyErr_Occurred()) {
        return NULL;
    }
    pthread_t other;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 << 20);
    pthread_barrier_init(&deep_both, NULL, 2);
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&deep_first);
    pthread_create(&other, &attr, deep_other, (void *)depth);
    pthread_barrier_wait(&deep_both);
    lock_deep_down((int)depth, &deep_second);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

#if PY_VERSION_HEX >= 0x030C0000
/* 3.12+: a subinterpreter with its own GIL, and no lock cycle. Thread S creates the
 * subinterpreter (holding its GIL from then on) and waits for `sub_mutex`; thread W holds
 * `sub_mutex` and waits for the main GIL, which the caller holds while it waits on a semaphore
 * for good. S waits for W, W for the main thread, the main thread for nothing anyone holds. */
static pthread_mutex_t sub_mutex = PTHREAD_MUTEX_INITIALIZER;
static sem_t sub_ready, sub_waiter_ready, sub_go, sub_never;

static void *
own_gil_thread(void *unused)
{
    PyGILState_STATE gstate = PyGILState_Ensure(); /* the main GIL, for creating the interpreter */
    PyThreadState *tstate = NULL;
    PyInterpreterConfig config = {
        .use_main_obmalloc = 0,
        .allow_fork = 0,
        .allow_exec = 0,
        .allow_threads = 1,
        .allow_daemon_threads = 0,
        .check_multi_interp_extensions = 1,
        .gil = PyInterpreterConfig_OWN_GIL,
    };
    (void)Py_NewInterpreterFromConfig(&tstate, &config); /* holds the subinterpreter's GIL */
    (void)gstate;
    sem_post(&sub_ready);
    sem_wait(&sub_go);
    pthread_mutex_lock(&sub_mutex); /* held by the waiter for the main GIL */
    return NULL;
}

static void *
main_gil_waiter(void *unused)
{
    pthread_mutex_lock(&sub_mutex);
    sem_post(&sub_waiter_ready);
    usleep(300000);
    (void)PyGILState_Ensure(); /* the main GIL: its holder waits on a semaphore for good */
    return NULL;
}

static PyObject *
own_gil_subinterpreter_wait(PyObject *self, PyObject *unused)
{
    pthread_t s, w;
    sem_init(&sub_ready, 0, 0);
    sem_init(&sub_waiter_ready, 0, 0);
    sem_init(&sub_go, 0, 0);
    sem_init(&sub_never, 0, 0);
    Py_BEGIN_ALLOW_THREADS
    pthread_create(&s, NULL, own_gil_thread, NULL);
    sem_wait(&sub_ready);
    pthread_create(&w, NULL, main_gil_waiter, NULL);
    sem_wait(&sub_waiter_ready);
    Py_END_ALLOW_THREADS
    sem_post(&sub_go);
    sem_wait(&sub_never); /* the main GIL held, never released */
    Py_RETURN_NONE;
}
#endif

/* A signal handler takes a mutex the code it interrupted holds: it waits forever, on the
 * interrupted code's stack. The signal is a SIGILL of the trap instruction right after the lock
 * (deterministic, no timer): the interrupted pc is the trap itself, not a return address. */
static pthread_mutex_t handler_wants = PTHREAD_MUTEX_INITIALIZER;

static void
lock_in_handler(int sig)
{
    pthread_mutex_lock(&handler_wants); /* held by the interrupted code: waits forever */
    pthread_mutex_unlock(&handler_wants);
}

static PyObject *
signal_while_locked(PyObject *self, PyObject *unused)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = lock_in_handler;
    sigaction(SIGILL, &action, NULL);
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&handler_wants);
    __builtin_trap(); /* SIGILL: lock_in_handler runs here */
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* A C thread in one long sleep beside the caller blocked forever: on a mutex a third thread
 * holds while it waits for a semaphore nobody posts (on_semaphore 0: the sleeper is not shown to
 * hold it, a hang whatever the sleep), or on such a semaphore itself (on_semaphore 1: any thread
 * could post it, the sleeper once it wakes too, so the sleep is waited for). */
static pthread_mutex_t not_the_sleepers = PTHREAD_MUTEX_INITIALIZER;
static sem_t holder_has_it, never_posted;
static unsigned int long_sleep_seconds;

static void *
hold_and_wait(void *unused)
{
    pthread_mutex_lock(&not_the_sleepers);
    sem_post(&holder_has_it);
    sem_wait(&never_posted);
    return NULL;
}

static void *
sleep_long(void *unused)
{
    sleep(long_sleep_seconds); /* one sleep, holding nothing */
    return NULL;
}

static PyObject *
block_beside_sleeper(PyObject *self, PyObject *args)
{
    int on_semaphore;
    pthread_t sleeper, holder;
    if (!PyArg_ParseTuple(args, "Ip", &long_sleep_seconds, &on_semaphore))
        return NULL;
    sem_init(&holder_has_it, 0, 0);
    sem_init(&never_posted, 0, 0);
    Py_BEGIN_ALLOW_THREADS
    pthread_create(&sleeper, NULL, sleep_long, NULL);
    if (on_semaphore) {
        sem_wait(&never_posted); /* blocks forever, on a semaphore */
    } else {
        pthread_create(&holder, NULL, hold_and_wait, NULL);
        sem_wait(&holder_has_it);
        pthread_mutex_lock(&not_the_sleepers); /* blocks forever: the holder never lets go */
    }
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef hangfix_methods[] = {
    {"mutex_cycle", mutex_cycle, METH_NOARGS, "Deadlock two threads on two mutexes."},
    {"leave_mutex_cycle", leave_mutex_cycle, METH_NOARGS, "Leave two threads deadlocked on two mutexes, and return."},
    {"block_beside_sleeper", block_beside_sleeper, METH_VARARGS, "Block forever beside a thread in one sleep."},
    {"signal_while_locked", signal_while_locked, METH_NOARGS, "Deadlock a signal handler on a held mutex."},
    {"fork_with_locked_mutex", fork_with_locked_mutex, METH_NOARGS, "Fork while a mutex is held."},
    {"pshared_wait", pshared_wait, METH_O, "A child waits for a process-shared mutex its parent holds."},
    {"pshared_cycle", pshared_cycle, METH_NOARGS,
     "A parent and its forked child take two process-shared mutexes in opposite orders."},
    {"pshared_sibling_cycle", pshared_sibling_cycle, METH_NOARGS,
     "Two forked children take two process-shared mutexes in opposite orders."},
    {"stdio_wait", stdio_wait, METH_O, "Write to stderr while a thread holds its lock for a while."},
    {"stdio_cycle", stdio_cycle, METH_NOARGS, "Deadlock stderr's lock against a mutex."},
    {"gil_cycle", gil_cycle, METH_NOARGS, "Deadlock the GIL against a mutex."},
    {"pi_mutex_cycle", pi_mutex_cycle, METH_NOARGS, "Deadlock two threads on two priority-inheritance mutexes."},
    {"join_c_sleeper", join_c_sleeper, METH_VARARGS, "Wait for a C thread that sleeps (seconds, rounds, through_mutex)."},
    {"vfork_waiting_child", vfork_waiting_child, METH_NOARGS, "vfork a child that waits for good before exec."},
    {"cond_relock_cycle", cond_relock_cycle, METH_NOARGS, "Deadlock through pthread_cond_wait's re-lock."},
    {"shared_private_mutex", shared_private_mutex, METH_NOARGS, "A child waits for a private mutex in shared memory its parent holds."},
    {"deep_mutex_cycle", deep_mutex_cycle, METH_O, "Deadlock two threads at C recursion depth `depth`."},
#if PY_VERSION_HEX >= 0x030C0000
    {"own_gil_subinterpreter_wait", own_gil_subinterpreter_wait, METH_NOARGS, "Wait for the main GIL beside an own-GIL subinterpreter."},
#endif
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
