/* malloc_stress: glibc's allocator over brk (small blocks, realloc growth, free lists) and
 * over mmap2/munmap (blocks above the 128 KiB mmap threshold, one of 3 MiB), with the data
 * checked after every move so that a wrong brk, mmap or memory effect shows up as a
 * different journal. Addresses are never printed: they differ between the VM and qemu. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 257

static uint32_t lcg_state = 12345u;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

/* Byte k of a block filled with seed s is (unsigned char)(s + 7k): any prefix of a block
 * can be checked after realloc without keeping a copy. */
static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (unsigned char)(seed + k * 7u);
}

static int intact(const unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t k = 0; k < n; k++)
        if (p[k] != (unsigned char)(seed + k * 7u))
            return 0;
    return 1;
}

int main(void)
{
    unsigned char *slot[SLOTS] = {0};
    size_t size[SLOTS] = {0};
    uint32_t seed[SLOTS] = {0};
    unsigned errors = 0, allocs = 0, frees = 0, reallocs = 0;

    for (uint32_t round = 0; round < 1500; round++) {
        int i = (int)(lcg() % SLOTS);
        if (slot[i] == NULL) {
            size[i] = 1 + lcg() % 600;
            slot[i] = malloc(size[i]);
            if (slot[i] == NULL)
                return 2;
            seed[i] = round;
            fill(slot[i], size[i], seed[i]);
            allocs++;
        } else if (lcg() % 3 == 0) {
            errors += !intact(slot[i], size[i], seed[i]);
            free(slot[i]);
            slot[i] = NULL;
            frees++;
        } else {
            size_t newsize = 1 + lcg() % 1200;
            unsigned char *p = realloc(slot[i], newsize);
            if (p == NULL)
                return 2;
            errors += !intact(p, size[i] < newsize ? size[i] : newsize, seed[i]);
            slot[i] = p;
            size[i] = newsize;
            seed[i] = round * 3u;
            fill(p, newsize, seed[i]);
            reallocs++;
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slot[i] != NULL)
            errors += !intact(slot[i], size[i], seed[i]);
        free(slot[i]);
    }
    printf("small: %u allocs, %u reallocs, %u frees, %u errors\n", allocs, reallocs, frees, errors);

    /* Large blocks: served by mmap2, returned by munmap. */
    size_t big_n = 3u << 20;
    unsigned char *big = malloc(big_n);
    if (big == NULL)
        return 3;
    memset(big, 0xA5, big_n);
    for (size_t k = 0; k < big_n; k += 4096)
        big[k] = (unsigned char)(k >> 12);
    uint32_t big_sum = 0;
    for (size_t k = 0; k < big_n; k += 1024)
        big_sum += big[k] + big[k + 1023];
    unsigned char *bigger = realloc(big, big_n * 2); /* mremap or copy */
    if (bigger == NULL)
        return 3;
    uint32_t again = 0;
    for (size_t k = 0; k < big_n; k += 1024)
        again += bigger[k] + bigger[k + 1023];
    memset(bigger + big_n, 0x5A, big_n);
    printf("large: %zu bytes, sum %u, after realloc %s, tail %02x\n", big_n, big_sum,
           again == big_sum ? "same" : "DIFFERENT", bigger[2 * big_n - 1]);
    free(bigger);

    /* calloc must hand out zeroed memory, including recycled chunks. */
    unsigned nonzero = 0;
    for (int r = 0; r < 50; r++) {
        size_t n = 100 + (size_t)r * 37;
        unsigned char *d = malloc(n);
        memset(d, 0xFF, n);
        free(d);
        unsigned char *z = calloc(n, 1);
        for (size_t k = 0; k < n; k++)
            nonzero += z[k] != 0;
        free(z);
    }
    unsigned *huge = calloc(300000, sizeof(unsigned)); /* mmap'ed, zero from the kernel */
    for (size_t k = 0; k < 300000; k += 97)
        nonzero += huge[k] != 0;
    free(huge);
    printf("calloc: %u non-zero bytes\n", nonzero);
    return errors != 0 || nonzero != 0;
}
