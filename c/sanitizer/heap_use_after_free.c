/* ASAN heap-use-after-free across threads: main allocates and frees a block, then a second
 * thread reads it, so the report has an access stack (thread T1), "freed by thread T0",
 * "previously allocated by thread T0" and "Thread T1 created by T0 here" stacks. */
#include <pthread.h>
#include <stdlib.h>

static int *block;

__attribute__((noinline)) static void *reader(void *unused)
{
    (void)unused;
    return (void *)(long)block[1]; /* MARK fault */
}

int main(void)
{
    block = malloc(8 * sizeof(int)); /* MARK alloc */
    block[1] = 7;
    free(block); /* MARK free */
    pthread_t thread;
    pthread_create(&thread, NULL, reader, NULL); /* MARK create */
    void *result;
    pthread_join(thread, &result);
    return (int)(long)result;
}
