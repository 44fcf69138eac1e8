/* TSan data race: two threads increment a global without synchronisation. */
#include <pthread.h>
#include <stdio.h>

int counter;

__attribute__((noinline)) static void *bump(void *unused)
{
    (void)unused;
    counter++; /* MARK fault */
    return NULL;
}

int main(void)
{
    pthread_t first, second;
    pthread_create(&first, NULL, bump, NULL); /* MARK create_first */
    pthread_create(&second, NULL, bump, NULL); /* MARK create_second */
    pthread_join(first, NULL);
    pthread_join(second, NULL);
    printf("%d\n", counter);
    return 0;
}
