/* Symbolization fixture: a program built with -g -O2 whose functions are inlined into each
 * other, so that one address has a chain of frames. The MARK comments name lines the tests
 * look for; keep each on the line of the statement it marks.
 *
 * leaf() is inlined into middle(), middle() into outer(); outer() is a real function.
 * rare_path() is cold, so GCC moves part of checked() into a "checked.cold" piece: the
 * symbol table names it differently from the DWARF, as llvm-symbolizer prints it. */
#include <stdio.h>
#include <stdlib.h>

volatile int sink;

static inline __attribute__((always_inline)) int leaf(int x)
{
    sink = x * 3; /* MARK leaf_store */
    return x + 1;
}

static inline __attribute__((always_inline)) int middle(int x)
{
    int y = leaf(x + 2); /* MARK middle_calls_leaf */
    sink = y;
    return y * 2;
}

__attribute__((noinline)) int outer(int x)
{
    int total = 0;
    for (int i = 0; i < x; i++)
        total += middle(i); /* MARK outer_calls_middle */
    return total;
}

__attribute__((noinline, cold)) void rare_path(int x)
{
    fprintf(stderr, "rare %d\n", x);
    abort();
}

__attribute__((noinline)) int checked(int x)
{
    if (__builtin_expect(x < 0, 0))
        rare_path(x); /* MARK checked_calls_rare */
    return outer(x) + 1;
}

int main(int argc, char **argv)
{
    (void)argv;
    return checked(argc) & 1;
}
