/* ASAN stack-buffer-overflow: a read one element past a local array; the report describes
 * the frame and its variables ("This frame has 1 object(s)"). */
#include <stdio.h>

__attribute__((noinline)) static int sum(int count)
{
    int values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int total = 0;
    for (int i = 0; i <= count; i++)
        total += values[i]; /* MARK fault */
    return total;
}

int main(int argc, char **argv)
{
    (void)argv;
    printf("%d\n", sum(7 + argc));
    return 0;
}
