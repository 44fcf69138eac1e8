/* ASAN heap-buffer-overflow: a 4-byte write one element past a malloc'd array of 4 ints, made
 * by an always-inline helper so that, built -O1, the faulting address has an inline chain
 * (store_past_end inlined into fill). MARK comments name the lines the tests look for. */
#include <stdlib.h>

static inline __attribute__((always_inline)) void store_past_end(int *array, int n)
{
    array[n] = n; /* MARK fault */
}

__attribute__((noinline)) void fill(int *array, int n)
{
    for (int i = 0; i < n; i++)
        array[i] = i;
    store_past_end(array, n); /* MARK fill_calls_store */
}

int main(void)
{
    int *array = malloc(4 * sizeof(int)); /* MARK alloc */
    fill(array, 4); /* MARK main_calls_fill */
    free(array);
    return 0;
}
