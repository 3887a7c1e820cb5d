/* setjmp_unwind: error handling with libc setjmp/longjmp out of nested calls, a longjmp
 * value of 0 (delivered as 1), and repeated jumps to one buffer. Note: glibc's MIPS setjmp
 * saves and restores the callee-saved FP registers with sdc1/ldc1 even in integer-only
 * programs, so this program needs the VM to treat those as plain data moves. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf on_error;
static int depth_reached;

static int parse_digit(char c, int depth)
{
    depth_reached = depth;
    if (c < '0' || c > '9')
        longjmp(on_error, 100 + c);
    return c - '0';
}

static int parse_number(const char *s, int depth)
{
    if (*s == '\0')
        return 0;
    int rest = parse_number(s + 1, depth + 1);
    int len = 0;
    for (const char *t = s + 1; *t; t++)
        len++;
    int scale = 1;
    while (len-- > 0)
        scale *= 10;
    return parse_digit(*s, depth) * scale + rest;
}

static int try_parse(const char *s, int *out)
{
    int code = setjmp(on_error);
    if (code != 0)
        return code;
    *out = parse_number(s, 0);
    return 0;
}

int main(void)
{
    const char *inputs[] = {"12345", "98x76", "0", "4294", "7a", "123456789"};
    for (unsigned i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        int value = -1;
        int code = try_parse(inputs[i], &value);
        if (code == 0)
            printf("%-10s -> %d\n", inputs[i], value);
        else
            printf("%-10s -> error %d ('%c') at depth %d\n", inputs[i], code, code - 100,
                   depth_reached);
    }

    jmp_buf again;
    volatile int rounds = 0;
    int v = setjmp(again);
    if (rounds < 5) {
        rounds++;
        longjmp(again, 0); /* 0 arrives as 1 */
    }
    printf("rounds %d, last value %d\n", rounds, v);
    return 0;
}
