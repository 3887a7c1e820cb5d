/* bench_qsort: libc qsort of N pseudo-random 32-bit integers (N from the public input),
 * for the VM benchmark: memory-heavy merge sort with an indirect comparator call per
 * comparison. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    long n = 0;
    if (scanf("%ld", &n) != 1 || n < 1 || n > 1 << 24)
        return 2;
    int32_t *v = malloc(sizeof *v * (size_t)n);
    if (v == NULL)
        return 2;
    uint32_t x = 2463534242u;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v[i] = (int32_t)x;
    }
    qsort(v, (size_t)n, sizeof *v, cmp);
    uint32_t h = 0;
    long inversions = 0;
    for (long i = 0; i < n; i++) {
        h = h * 31u + (uint32_t)v[i];
        inversions += i > 0 && v[i - 1] > v[i];
    }
    printf("qsort of %ld ints: digest %08x, %ld inversions\n", n, h, inversions);
    free(v);
    return inversions != 0;
}
