/* A plain program (no sanitizer, not position independent) that loads the shared object
 * named on its command line and calls its asan_dso_overflow(). */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SHARED_OBJECT\n", argv[0]);
        return 2;
    }
    void *handle = dlopen(argv[1], RTLD_NOW);
    if (handle == NULL) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    int (*overflow)(int) = (int (*)(int))dlsym(handle, "asan_dso_overflow");
    if (overflow == NULL) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 2;
    }
    return overflow(16) == 0 ? 0 : 1; /* MARK calls_overflow */
}
