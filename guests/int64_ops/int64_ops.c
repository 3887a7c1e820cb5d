/* int64_ops: 64-bit arithmetic on a 32-bit machine: multiplication (mult/multu and
 * mflo/mfhi), division and modulo (libgcc's __divdi3/__udivdi3/__moddi3/__umoddi3, which
 * use divu with hi/lo and clz), variable shifts across the word boundary, comparisons and
 * 32-bit div/mod by zero-free divisors (div with teq guards). Values come from a generator
 * and volatile loads so the compiler cannot fold them. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int main(void)
{
    volatile int64_t edge[] = {0, 1, -1, 2, -2, 7, -7, INT64_MAX, INT64_MIN, 0x100000000ll,
                               -0x100000000ll, 0xFFFFFFFFll, 1000000007ll, -999999999999ll};
    const int E = sizeof edge / sizeof edge[0];
    uint64_t h = 0;
    for (int i = 0; i < E; i++) {
        for (int j = 0; j < E; j++) {
            int64_t a = edge[i], b = edge[j];
            uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
            h = h * 0x100000001B3ull ^ (uint64_t)(a * b);
            h = h * 0x100000001B3ull ^ (ua * ub);
            if (b != 0 && !(a == INT64_MIN && b == -1)) {
                h = h * 0x100000001B3ull ^ (uint64_t)(a / b);
                h = h * 0x100000001B3ull ^ (uint64_t)(a % b);
            }
            if (ub != 0) {
                h = h * 0x100000001B3ull ^ (ua / ub);
                h = h * 0x100000001B3ull ^ (ua % ub);
            }
            h = h * 0x100000001B3ull ^ (uint64_t)((a < b) | (ua < ub) << 1 | (a == b) << 2);
        }
    }
    printf("edge digest %016" PRIx64 "\n", h);
    printf("INT64_MIN / 3 = %" PRId64 ", %% 3 = %" PRId64 "\n", edge[8] / 3, edge[8] % 3);
    printf("-7 / 2 = %" PRId64 ", -7 %% 2 = %" PRId64 ", 7 / -2 = %" PRId64 "\n", edge[6] / 2,
           edge[6] % 2, edge[5] / -2);

    uint64_t sh = 0;
    for (int s = 0; s < 64; s++) {
        volatile uint64_t x = 0x8123456789ABCDEFull;
        int64_t sx = (int64_t)x;
        sh = sh * 31 + (x << s) + (x >> s) + (uint64_t)(sx >> s);
    }
    printf("shift digest %016" PRIx64 "\n", sh);

    uint64_t mix = 0;
    int32_t neg_div = 0;
    for (int i = 0; i < 2000; i++) {
        uint64_t a = next(), b = next() >> (next() & 63);
        int32_t x = (int32_t)next(), y = (int32_t)(next() | 1);
        mix += a * b;
        if (b != 0)
            mix ^= a / b + a % b;
        mix += (uint64_t)((int64_t)a / (int64_t)(b | 1));
        mix += (uint64_t)((int64_t)x * (int64_t)y) ^ ((uint64_t)(uint32_t)x * (uint32_t)y);
        neg_div += x / y + x % y + (int32_t)((uint32_t)x / (uint32_t)y) + (int32_t)((uint32_t)x % (uint32_t)y);
    }
    printf("random digest %016" PRIx64 " %d\n", mix, neg_div);
    return 0;
}
