/* A shared object built with -fsanitize=address, loaded with dlopen() by the plain program
 * dso_loader.c (LD_PRELOAD names libasan): the report's frames are in this object, at
 * "(/path/asan_dso.so+0x...)" offsets when left unsymbolized. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static int read_after_end(const char *block, int size)
{
    return block[size]; /* MARK fault */
}

int asan_dso_overflow(int size)
{
    char *block = malloc(size); /* MARK alloc */
    memset(block, 1, size);
    int value = read_after_end(block, size); /* MARK calls_read */
    free(block);
    return value;
}
