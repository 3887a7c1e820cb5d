/* dotprod: fixed-point linear algebra with 64-bit accumulators of 32x32-bit products,
 * the pattern gcc compiles to madd/maddu (acc += a*b) and msub/msubu (acc -= a*b) on the
 * HI/LO pair, then mfhi/mflo: dot products, a matrix-vector product, a small integer
 * neural-network layer with a ReLU, and a polynomial evaluated modulo a prime. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#define N 64

static int32_t xs[N], ys[N], mat[N][N];
static uint32_t ux[N], uy[N];

__attribute__((noinline)) static int64_t dot(const int32_t *a, const int32_t *b, int n)
{
    int64_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += (int64_t)a[i] * b[i];
    return acc;
}

__attribute__((noinline)) static uint64_t udot(const uint32_t *a, const uint32_t *b, int n)
{
    uint64_t acc = 0;
    for (int i = 0; i < n; i++)
        acc += (uint64_t)a[i] * b[i];
    return acc;
}

__attribute__((noinline)) static int64_t diff_dot(const int32_t *a, const int32_t *b, int n)
{
    int64_t acc = 1000000000000ll;
    for (int i = 0; i < n; i++)
        acc -= (int64_t)a[i] * b[i];
    return acc;
}

__attribute__((noinline)) static uint64_t udiff_dot(const uint32_t *a, const uint32_t *b, int n)
{
    uint64_t acc = ~0ull;
    for (int i = 0; i < n; i++)
        acc -= (uint64_t)a[i] * b[i];
    return acc;
}

int main(void)
{
    uint32_t s = 1;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        xs[i] = (int32_t)s >> 4;
        ux[i] = s;
        s = s * 1664525u + 1013904223u;
        ys[i] = (int32_t)s >> 6;
        uy[i] = s;
        for (int j = 0; j < N; j++) {
            s = s * 1664525u + 1013904223u;
            mat[i][j] = (int32_t)(s >> 16) - 32768;
        }
    }
    printf("dot   %" PRId64 "\n", dot(xs, ys, N));
    printf("udot  %" PRIu64 "\n", udot(ux, uy, N));
    printf("dot-  %" PRId64 "\n", diff_dot(xs, ys, N));
    printf("udot- %" PRIu64 "\n", udiff_dot(ux, uy, N));

    /* One dense layer: out = relu(W x >> 16), repeated as a 3-layer network. */
    int32_t v[N], w[N];
    for (int i = 0; i < N; i++)
        v[i] = xs[i] >> 12;
    for (int layer = 0; layer < 3; layer++) {
        for (int i = 0; i < N; i++) {
            int64_t acc = dot(mat[i], v, N);
            int32_t o = (int32_t)(acc >> 16);
            w[i] = o > 0 ? o : 0;
        }
        for (int i = 0; i < N; i++)
            v[i] = w[i] - (w[(i + 1) % N] >> 1);
    }
    uint32_t h = 0;
    for (int i = 0; i < N; i++)
        h = h * 31u + (uint32_t)v[i];
    printf("network output digest %08x, v[0..3] = %d %d %d %d\n", h, v[0], v[1], v[2], v[3]);

    /* Horner's rule modulo the BabyBear prime with 64-bit products. */
    const uint64_t p = 2013265921u;
    uint64_t acc = 0;
    for (int i = 0; i < N; i++)
        acc = (acc * 1234567u + ux[i] % p) % p;
    printf("poly mod p = %" PRIu64 "\n", acc);
    return 0;
}
