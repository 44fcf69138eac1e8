/* UBSan checks whose message alone does not name the check (report_error_type=1 does): a
 * floating-point division by zero (the same "division by zero" as an integer one), __builtin_ctz
 * of zero ("passing zero to ctz()"), and, built with clang's -fsanitize=implicit-conversion, an
 * int -1 stored into an unsigned char (a signed truncation that also changes the sign). */
#include <stdio.h>

volatile double zero = 0.0;
volatile unsigned nothing = 0;
volatile int minus_one = -1;

int main(void)
{
    double quotient = 1.0 / zero; /* MARK fault_float_divide */
    int trailing = __builtin_ctz(nothing); /* MARK fault_ctz */
    unsigned char narrowed = minus_one; /* MARK fault_conversion */
    printf("%f %d %u\n", quotient, trailing, narrowed);
    return 0;
}
