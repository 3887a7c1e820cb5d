/* recursion: 100,000 nested frames (about 3-6 MiB of stack), so the VM's initial stack and
 * its growth below the start-up sp must behave like Linux's 8 MiB stack. Each frame keeps
 * a local array alive across the call and reads it afterwards, so gcc cannot turn the
 * recursion into a loop. Also mutual recursion and a recursive Ackermann. */
#include <stdint.h>
#include <stdio.h>

struct link {
    const struct link *up;
    uint32_t value;
};

__attribute__((noinline)) static uint32_t descend(const struct link *up, uint32_t n)
{
    struct link here = {up, n * 2654435761u};
    uint32_t local[4] = {n, n ^ 0x5555u, n >> 3, n << 2};
    if (n == 0) {
        uint32_t h = 0;
        unsigned hops = 0;
        for (const struct link *l = &here; l != NULL && hops < 64; l = l->up, hops++)
            h = h * 31u + l->value;
        return h;
    }
    uint32_t below = descend(&here, n - 1);
    return below ^ (local[0] + local[1] + local[2] + local[3]) ^ here.value;
}

__attribute__((noinline)) static int is_odd(unsigned n);
__attribute__((noinline)) static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
__attribute__((noinline)) static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static unsigned ackermann(unsigned m, unsigned n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

int main(void)
{
    printf("descend(100000) = %08x\n", descend(NULL, 100000));
    printf("is_even(20001) = %d, is_odd(20001) = %d\n", is_even(20001), is_odd(20001));
    printf("ackermann(2, 300) = %u, ackermann(3, 5) = %u\n", ackermann(2, 300), ackermann(3, 5));
    return 0;
}
