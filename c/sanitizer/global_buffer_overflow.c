/* ASAN global-buffer-overflow: a write one element past a global array. */
int table[10];

__attribute__((noinline)) static void set(int index, int value)
{
    table[index] = value; /* MARK fault */
}

int main(int argc, char **argv)
{
    (void)argv;
    set(9 + argc, 1);
    return 0;
}
