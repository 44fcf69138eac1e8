/* MSan use-of-uninitialized-value with origins (clang -fsanitize=memory
 * -fsanitize-memory-track-origins=2): a heap block never written is copied, then branched on. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static int copy_first(const int *from)
{
    int copy = from[0]; /* MARK store */
    return copy;
}

__attribute__((noinline)) static void report(int value)
{
    if (value > 0) /* MARK fault */
        puts("positive");
}

int main(void)
{
    int *block = malloc(4 * sizeof(int)); /* MARK alloc */
    report(copy_first(block));
    free(block);
    return 0;
}
