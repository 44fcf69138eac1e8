/* UBSan, recoverable checks (the program goes on after each report): a signed integer
 * overflow, then a shift exponent too large for the type, then an out-of-bounds array index. */
#include <limits.h>
#include <stdio.h>

__attribute__((noinline)) static int add(int a, int b)
{
    return a + b; /* MARK fault_overflow */
}

__attribute__((noinline)) static int shift(int value, int by)
{
    return value << by; /* MARK fault_shift */
}

__attribute__((noinline)) static int pick(int index)
{
    int table[4] = {1, 2, 3, 4};
    return table[index]; /* MARK fault_bounds */
}

int main(int argc, char **argv)
{
    (void)argv;
    int sum = add(INT_MAX, argc);
    int shifted = shift(1, 31 + argc);
    int picked = pick(3 + argc);
    printf("%d %d %d\n", sum, shifted, picked);
    return 0;
}
