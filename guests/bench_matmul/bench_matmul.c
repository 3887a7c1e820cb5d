/* bench_matmul: N x N integer matrix product with 64-bit accumulation (N from the public
 * input), for the VM benchmark: loads, mul/madd and loop overhead; the result is reduced
 * modulo the BabyBear prime to a checksum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    int n = 0;
    if (scanf("%d", &n) != 1 || n < 1 || n > 1024)
        return 2;
    int32_t *a = malloc(sizeof *a * (size_t)n * n);
    int32_t *bt = malloc(sizeof *bt * (size_t)n * n);
    if (a == NULL || bt == NULL)
        return 2;
    uint32_t x = 12345u;
    for (int i = 0; i < n * n; i++) {
        x = x * 1103515245u + 12345u;
        a[i] = (int32_t)(x >> 8) - (1 << 23);
        x = x * 1103515245u + 12345u;
        bt[i] = (int32_t)(x >> 12) - (1 << 19);
    }
    const uint64_t p = 2013265921u;
    uint64_t check = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            const int32_t *row = a + (size_t)i * n, *col = bt + (size_t)j * n;
            int64_t acc = 0;
            for (int k = 0; k < n; k++)
                acc += (int64_t)row[k] * col[k];
            check = (check * 31 + (uint64_t)acc % p) % p;
        }
    }
    printf("matmul %dx%d: checksum %llu\n", n, n, (unsigned long long)check);
    free(a);
    free(bt);
    return 0;
}
