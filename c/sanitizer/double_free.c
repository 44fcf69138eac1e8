/* ASAN attempting double-free: the same block is freed twice. */
#include <stdlib.h>

__attribute__((noinline)) static void release(char *block)
{
    free(block); /* MARK fault */
}

/* Hides the freed pointer from GCC's -Wuse-after-free. */
static char *volatile kept;

int main(void)
{
    char *block = malloc(10); /* MARK alloc */
    kept = block;
    free(block); /* MARK free */
    release(kept); /* MARK main_calls_release */
    return 0;
}
