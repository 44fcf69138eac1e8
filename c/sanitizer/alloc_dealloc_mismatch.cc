/* ASAN alloc-dealloc-mismatch (operator new vs free), built with g++. */
#include <cstdlib>

struct Pair {
    long first;
    long second;
};

__attribute__((noinline)) static void dispose(Pair *pair)
{
    std::free(pair); /* MARK fault */
}

int main()
{
    Pair *pair = new Pair{1, 2}; /* MARK alloc */
    dispose(pair);
    return 0;
}
