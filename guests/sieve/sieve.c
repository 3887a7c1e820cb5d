/* sieve: sieve of Eratosthenes over a byte array and over a bit array (the limit comes
 * from the public input), cross-checked, with prime counts at powers of ten and the
 * largest twin primes below the limit. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    long limit = 0;
    if (scanf("%ld", &limit) != 1 || limit < 10 || limit > 50000000) {
        printf("need a limit in [10, 50000000]\n");
        return 2;
    }
    uint8_t *composite = calloc((size_t)limit + 1, 1);
    uint32_t *bits = calloc((size_t)limit / 32 + 1, sizeof *bits);
    if (composite == NULL || bits == NULL)
        return 2;
    for (long i = 2; i * i <= limit; i++)
        if (!composite[i])
            for (long j = i * i; j <= limit; j += i)
                composite[j] = 1;
    bits[0] |= 3u; /* 0 and 1 are not prime */
    for (uint32_t i = 2; (long)(i * i) <= limit; i++)
        if (!(bits[i >> 5] >> (i & 31) & 1))
            for (uint32_t j = i * i; (long)j <= limit; j += i)
                bits[j >> 5] |= 1u << (j & 31);
    long count = 0, next_report = 10, disagree = 0, twin = 0;
    for (long i = 2; i <= limit; i++) {
        int prime = !composite[i];
        disagree += prime != !(bits[i >> 5] >> (i & 31) & 1);
        if (prime) {
            count++;
            if (i >= 4 && !composite[i - 2])
                twin = i;
        }
        if (i == next_report) {
            printf("pi(%ld) = %ld\n", i, count);
            next_report *= 10;
        }
    }
    printf("pi(%ld) = %ld, largest twin primes (%ld, %ld), %ld disagreements\n", limit, count,
           twin - 2, twin, disagree);
    free(composite);
    free(bits);
    return disagree != 0;
}
