/* A guest with no C library: arithmetic, branches, memory and HI/LO, then exit.
 * The CPU-table tests prove its whole execution (tests/prover/zkmips/test_cpu.py).
 * Built with -nostdlib, so nothing but _start runs and the only syscall is the exit. */
typedef unsigned int u32;
typedef signed char s8;
typedef short s16;

static u32 table[64];
static s8 bytes[16] = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16};
static s16 halves[8] = {1000, -2000, 3000, -4000, 5000, -6000, 7000, -8000};
volatile u32 sink;
volatile u32 sink2;     /* extras() feeds this, not the exit code */

struct fields { u32 lo : 5, mid : 11, hi : 16; };

/* Division by run-time values (div/divu, and the teq gcc adds for a zero divisor),
 * conditional moves, sign extensions, bit fields (ext/ins), clo and msub. */
static u32 extras(u32 h) {
    u32 q = 0;
    long long acc = 1;
    for (u32 i = 1; i < 24; i++) {
        u32 d = (h >> i) | 1u;
        q += h / d + h % d;
        int sd = (int)(i - 10) ? (int)(i - 10) : 3;
        q += (u32)((int)(h ^ i) / sd) + (u32)((int)h % sd);
        q += (h & i) ? (h >> 3) : (q << 2);
        u32 z = h & 8u, nz = h & 16u;
        q += z == 0 ? i : 7u;                        /* movz */
        q += nz != 0 ? i : 9u;                       /* movn */
        q += (u32)(s8)(h >> i) + (u32)(s16)(h >> (i / 2));
        struct fields f;
        f.lo = i; f.mid = h; f.hi = q;
        *(volatile struct fields *)&f = f;
        q += f.mid ^ f.hi ^ f.lo;
        q += (u32)__builtin_clz(~(h | 1u) | 1u);
        acc -= (long long)(int)h * (int)(i | q);
        h = h * 1103515245u + 12345u;
    }
    return q ^ (u32)acc ^ (u32)(acc >> 32);
}

static u32 mix(u32 x, u32 y) {
    x ^= y << 7;
    x += (y >> 3) | (x << 29);
    x = (x >> 13) | (x << 19);          /* rotr */
    return x * 0x9E3779B1u + (x < y) + ((int)x < (int)y);
}

static void insertion_sort(u32 *a, int n) {
    for (int i = 1; i < n; i++) {
        u32 v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
        a[j + 1] = v;
    }
}

__attribute__((noreturn)) static void sys_exit(int code) {
    register int a0 __asm__("$4") = code;
    register int v0 __asm__("$2") = 4001;
    __asm__ volatile("syscall" : : "r"(a0), "r"(v0) : "memory");
    __builtin_unreachable();
}

void __start(void) {
    u32 h = 0x12345678u;
    for (int i = 0; i < 64; i++) {
        h = mix(h, (u32)i);
        table[i] = h % 1000u + (u32)((int)h / -7);
    }
    insertion_sort(table, 64);
    long long acc = 0;
    for (int i = 0; i < 16; i++) acc += (long long)bytes[i] * (int)table[i];
    for (int i = 0; i < 8; i++) acc -= (long long)halves[i] * (unsigned)table[i + 8];
    u32 bits = 0;
    for (int i = 0; i < 64; i++) bits += __builtin_clz(table[i] | 1) + __builtin_popcount(table[i] & 0xFF);
    unsigned char *p = (unsigned char *)table;
    for (int i = 0; i < 32; i++) p[i * 3 + 1] = (unsigned char)(p[i] + i);
    struct __attribute__((packed)) unaligned_u32 { u32 v; };
    u32 unaligned = ((struct unaligned_u32 *)(p + 5))->v;      /* lwl/lwr */
    ((struct unaligned_u32 *)(p + 9))->v = unaligned ^ bits;   /* swl/swr */
    sink = (u32)acc ^ (u32)(acc >> 32) ^ bits ^ unaligned;
    sink2 = extras(sink);
    sys_exit((int)((sink ^ table[3]) & 0x7F));
}
