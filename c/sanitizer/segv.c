/* ASAN SEGV on unknown address: a write through a wild pointer (ASAN's own report needs
 * handle_segv=1, its default; CPython's buildbots run with handle_segv=0 and get none). */
#include <stdint.h>

__attribute__((noinline)) static void poke(volatile int *where)
{
    *where = 42; /* MARK fault */
}

int main(int argc, char **argv)
{
    (void)argv;
    poke((volatile int *)(uintptr_t)(0x10 * argc));
    return 0;
}
