/* bench_sha256: SHA-256 over a generated buffer of N KiB (N from the public input) in
 * 4 KiB chunks, for the VM benchmark: a tight, ALU-bound loop of rotations, xors and adds
 * with few memory accesses. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../sha256/sha256.h"

int main(void)
{
    long kib = 0;
    if (scanf("%ld", &kib) != 1 || kib < 1 || kib > 1 << 20)
        return 2;
    static uint8_t chunk[4096];
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint32_t x = 1;
    for (long done = 0; done < kib; done += 4) {
        for (size_t i = 0; i < sizeof chunk; i += 4) {
            x = x * 1664525u + 1013904223u;
            chunk[i] = (uint8_t)x, chunk[i + 1] = (uint8_t)(x >> 8);
            chunk[i + 2] = (uint8_t)(x >> 16), chunk[i + 3] = (uint8_t)(x >> 24);
        }
        size_t n = kib - done >= 4 ? sizeof chunk : (size_t)(kib - done) * 1024;
        sha256_update(&ctx, chunk, n);
    }
    uint8_t d[32];
    sha256_final(&ctx, d);
    printf("sha256 of %ld KiB: ", kib);
    for (int i = 0; i < 32; i++)
        printf("%02x", d[i]);
    putchar('\n');
    return 0;
}
