/* A guest with no C library: arithmetic, branches, memory and HI/LO, then exit.
 * The CPU-table tests prove its whole execution (tests/prover/zkmips/test_cpu.py).
 * Built with -nostdlib, so nothing but _start runs and the only syscall is the exit.
 * Inline asm adds what gcc does not emit here: ll/sc, the conditional traps, FPU/TLS
 * moves and ldc1/sdc1. The exit code is 61 under the VM and qemu-mipsel alike; a check
 * of those instructions that fails exits with 64 + its bits instead. */
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

/* Paths the compiler rarely emits, written as inline asm; each returns a bit of
 * `bad` when the instruction did not do what the VM (and qemu-mipsel) must do. */
static u32 pair[4] __attribute__((aligned(8)));
static volatile u32 ll_cell = 7;
volatile u32 sink3;

/* FPU and TLS moves, and ldc1/sdc1 of a double (the VM's FR=0 even/odd FPR pair): the
 * double written with mtc1/mthc1 goes to memory with sdc1 and comes back into another
 * register with ldc1. Only FPXX-clean code (no odd register named), which behaves the
 * same under FR=0 and FR=1: qemu-mipsel runs this FPXX binary with FR=1. */
static u32 fpu_moves(u32 h) {
    u32 lo = h, hi = h ^ 0xA5A5A5A5u, a, b, c, d, fcsr, fir, tls;
    __asm__ volatile(
        "mtc1 %[lo], $f20\n\t"
        "mthc1 %[hi], $f20\n\t"
        "sdc1 $f20, 8(%[buf])\n\t"
        "ldc1 $f22, 8(%[buf])\n\t"
        "mfc1 %[a], $f22\n\t"
        "mfhc1 %[b], $f22\n\t"
        "mfhc1 %[c], $f20\n\t"
        "mthc1 %[lo], $f22\n\t"
        "sdc1 $f22, 0(%[buf])\n\t"
        "ctc1 %[two], $31\n\t"
        "cfc1 %[fcsr], $31\n\t"
        "ctc1 $0, $31\n\t"
        "cfc1 %[fir], $0\n\t"
        ".set push\n\t.set mips32r2\n\t"
        "rdhwr %[tls], $29\n\t"
        ".set pop\n\t"
        "lw %[d], 4(%[buf])\n\t"
        : [a] "=&r"(a), [b] "=&r"(b), [c] "=&r"(c), [d] "=&r"(d), [fcsr] "=&r"(fcsr), [fir] "=&r"(fir),
          [tls] "=&r"(tls)
        : [lo] "r"(lo), [hi] "r"(hi), [buf] "r"(pair), [two] "r"(2u)
        : "memory", "$f20", "$f22");
    sink3 = a ^ b ^ c ^ d ^ fcsr ^ fir ^ tls;
    return (a != lo || b != hi || c != hi || d != lo || pair[0] != lo || pair[2] != lo || pair[3] != hi)
           | (fcsr != 2u) << 1 | (fir != 0x00739300u) << 2 | (tls != 0u) << 3;
}

/* Conditional traps whose condition is false (a trap that fires stops the program),
 * with signed and unsigned operands on both sides of the comparison. */
static void traps(u32 h) {
    u32 x = (h & 0xFFFu) + 1u, z = -x, five = sink3 | 5u;
    five &= 5u;
    __asm__ volatile(
        "tge %[z], %[x]\n\t"
        "tgeu %[x], %[z]\n\t"
        "tlt %[x], %[z]\n\t"
        "tltu %[z], %[x]\n\t"
        "teq %[x], %[z]\n\t"
        "tne %[x], %[x]\n\t"
        "tgei %[z], 0\n\t"
        "tgeiu %[x], -1\n\t"
        "tlti %[x], -5\n\t"
        "tltiu %[z], 16\n\t"
        "teqi %[x], 0\n\t"
        "tnei %[five], 5\n\t"
        : : [x] "r"(x), [z] "r"(z), [five] "r"(five));
}

/* ll/sc: an atomic add (an ll/sc loop whose sc succeeds), then an sc with no ll since
 * the last sc, which must fail (return 0) and leave memory alone. */
static u32 ll_sc(u32 h) {
    u32 old = __atomic_fetch_add(&ll_cell, h, __ATOMIC_RELAXED);
    u32 r = h | 1u;
    __asm__ volatile("sc %0, 0(%1)" : "+r"(r) : "r"(&ll_cell) : "memory");
    return (r != 0u || ll_cell != old + h) << 4;
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
    u32 bad = fpu_moves(sink2) | ll_sc(sink);
    traps(sink2);
    if (bad) sys_exit(64 + (int)bad);             /* never with a correct VM */
    sys_exit((int)((sink ^ table[3]) & 0x7F));
}
