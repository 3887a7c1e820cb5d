/* printf_fmt: the printf family's integer, string and pointer conversions, flags and
 * widths, snprintf truncation and the return values, so that glibc's vfprintf (a large,
 * branchy state machine with jump tables) runs end to end. Only addresses fixed by the ELF
 * are printed (%p of a global, NULL), never stack or heap addresses, which differ between
 * the VM and qemu. */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The truncation below is the point of the test. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

static int global_anchor;

int main(void)
{
    int ints[] = {0, 1, -1, 42, -42, 1000000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int v = ints[i];
        printf("[%d] [%u] [%x] [%X] [%o] [%5d] [%-5d|] [%+d] [% d] [%05d] [%#x] [%#o] [%08x]\n",
               v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v, v, v, v, v, v,
               (unsigned)v, (unsigned)v, (unsigned)v);
    }
    long l = -123456789L;
    long long ll = -1234567890123456789LL;
    unsigned long long ull = 0xfedcba9876543210ULL;
    printf("%ld %lu %lld %llu %llx %llX %#llo\n", l, (unsigned long)l, ll, (unsigned long long)ll,
           ull, ull, ull);
    printf("%hhd %hhu %hd %hu %zu %td %jd\n", (signed char)-3, (unsigned char)250, (short)-30000,
           (unsigned short)65000, sizeof(long long), (ptrdiff_t)-7, (intmax_t)INT64_MIN);
    printf("[%s] [%10s] [%-10s] [%.3s] [%*s] [%-*s] [%.*s]\n", "abc", "right", "left", "truncate",
           6, "star", 6, "star", 2, "precision");
    printf("[%c%c%c] [%3c] [%-3c] [%%]\n", 'z', 'k', 'M', 'x', 'y');
    printf("[%p] [%p]\n", (void *)&global_anchor, (void *)0);
    printf("[%.5d] [%8.3d] [%-8.3x|] [%.0d]\n", 42, 7, 255u, 0);

    char buf[16];
    int n = snprintf(buf, sizeof buf, "%s-%d-%s", "truncated", 123456, "output");
    printf("snprintf wanted %d, kept \"%s\" (%zu)\n", n, buf, strlen(buf));
    n = snprintf(NULL, 0, "%lld", ll);
    printf("length of %lld is %d\n", ll, n);
    char big[256];
    int pos = 0;
    for (int i = 0; i < 20; i++)
        pos += snprintf(big + pos, sizeof big - (size_t)pos, "%d,", i * i);
    printf("%s (%d)\n", big, pos);
    n = sprintf(buf, "%x", 0xdeadbeefu);
    printf("sprintf %s %d\n", buf, n);
    int count;
    printf("abcdef%n", &count);
    printf(" <- %d chars\n", count);
    fputs("fputs line\n", stdout);
    putchar('!');
    puts("");
    return 0;
}
