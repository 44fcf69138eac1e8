/* UBSan -fsanitize=vptr (C++, dynamic type check): a member call through a pointer to Base
 * on an object whose dynamic type is Other. The report dumps the object's memory with a caret
 * line and, under it, the line naming the range (`vptr for 'Other'`). Recoverable: the
 * program goes on (the function called is not virtual, so it does not crash). */
#include <cstdio>

struct Base {
    virtual ~Base() {}
    __attribute__((noinline)) int value() { return 1; }
};

struct Other {
    virtual ~Other() {}
    long payload = 0;
};

__attribute__((noinline)) static int call(Base *base)
{
    return base->value(); /* MARK fault */
}

int main()
{
    Other *other = new Other;
    int result = call(reinterpret_cast<Base *>(other));
    std::printf("%d\n", result);
    delete other;
    return 0;
}
