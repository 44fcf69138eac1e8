/* TSan, built with clang (its static runtime): two mutexes taken in both orders, a
 * lock-order-inversion whose SUMMARY names the interceptor's frame as the runtime prints it,
 * `(tsan_lock_order+0x...) (BuildId: ...) in __interceptor_pthread_mutex_lock`: leakcheck
 * symbolizes nothing there and must leave it as it is. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER, second = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    pthread_mutex_lock(&first);
    pthread_mutex_lock(&second); /* MARK lock_first_second */
    pthread_mutex_unlock(&second);
    pthread_mutex_unlock(&first);
    pthread_mutex_lock(&second);
    pthread_mutex_lock(&first); /* MARK lock_second_first */
    pthread_mutex_unlock(&first);
    pthread_mutex_unlock(&second);
    puts("done");
    return 0;
}
