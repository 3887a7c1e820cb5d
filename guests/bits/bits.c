/* bits: the bit-manipulation instructions of MIPS32r2 as gcc emits them from plain C:
 * clz/clo (__builtin_clz), popcount, rotations (rotr/rotrv), byte swaps (wsbh + rotr),
 * sign extension of bytes and halfwords (seb/seh), bitfield extract/insert (ext/ins),
 * conditional moves (movn/movz), and unaligned word access through packed structs and
 * memcpy (lwl/lwr/swl/swr), signed halfword and byte loads (lh/lb). Inputs come through volatile loads so nothing folds away. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct fields {
    unsigned a : 3;
    unsigned b : 7;
    signed c : 5;
    unsigned d : 12;
    unsigned e : 5;
};

struct __attribute__((packed)) packet {
    uint8_t tag;
    uint32_t word;
    uint16_t half;
    int32_t sword;
};

static inline uint32_t rotl(uint32_t x, unsigned r) { return (x << (r & 31)) | (x >> ((32 - r) & 31)); }
static inline uint32_t rotr(uint32_t x, unsigned r) { return (x >> (r & 31)) | (x << ((32 - r) & 31)); }

__attribute__((noinline)) static int32_t sext8(uint32_t x) { return (int8_t)x; }
__attribute__((noinline)) static int32_t sext16(uint32_t x) { return (int16_t)x; }
__attribute__((noinline)) static uint32_t pick(uint32_t c, uint32_t a, uint32_t b) { return c ? a : b; }
__attribute__((noinline)) static uint32_t pick_zero(uint32_t c, uint32_t a, uint32_t b) { return c == 0 ? a : b; }
/* gcc never emits clo (it negates and uses clz), so count leading ones directly. */
__attribute__((noinline)) static int clo32(uint32_t x)
{
    int n;
    __asm__("clo %0, %1" : "=r"(n) : "r"(x));
    return n;
}
__attribute__((noinline)) static uint32_t extract(uint32_t x) { return (x >> 7) & 0x3FF; }
__attribute__((noinline)) static uint32_t insert(uint32_t x, uint32_t y) { return (x & ~(0x1Fu << 11)) | ((y & 0x1F) << 11); }

int main(void)
{
    volatile uint32_t seeds[] = {0, 1, 0x80000000u, 0xFFFFFFFFu, 0x12345678u, 0xDEADBEEFu,
                                 0x00F0F000u, 0x7FFFFFFFu, 0x0000FFFFu, 0xA5A5A5A5u};
    uint32_t digest = 0;
    for (unsigned i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        uint32_t x = seeds[i];
        int clz = x ? __builtin_clz(x) : 32;
        int ctz = x ? __builtin_ctz(x) : 32;
        printf("%08x clz=%2d clo=%2d ctz=%2d pop=%2d parity=%d rotl5=%08x rotr9=%08x bswap=%08x "
               "bswap16=%04x sb=%d sh=%d ext=%03x ins=%08x\n",
               x, clz, clo32(x), ctz, __builtin_popcount(x), __builtin_parity(x), rotl(x, 5),
               rotr(x, 9), __builtin_bswap32(x), __builtin_bswap16((uint16_t)x), sext8(x),
               sext16(x), extract(x), insert(x, ~x));
        for (unsigned r = 0; r < 32; r++)
            digest = digest * 31u + rotr(x, r) + rotl(x, r + i);
        digest += pick(x & 4, x, ~x) + pick_zero(x & 8, digest, x);
        uint64_t wide = ((uint64_t)x << 32) | (x ^ 0x55555555u);
        digest += (uint32_t)__builtin_bswap64(wide) + (uint32_t)__builtin_popcountll(wide) +
                  (uint32_t)__builtin_clzll(wide | 1);
    }
    printf("rotation digest %08x\n", digest);

    static const int16_t halves[] = {-32768, -1, 0, 1, 32767, -12345, 0x7F00, -0x80};
    static const int8_t bytes[] = {-128, -1, 0, 1, 127, -99};
    int32_t hsum = 0;
    for (unsigned i = 0; i < sizeof halves / sizeof halves[0]; i++)
        hsum = hsum * 3 + halves[i] + bytes[i % 6];
    printf("signed loads %d\n", hsum);

    struct fields f = {0};
    uint32_t fsum = 0;
    for (unsigned i = 0; i < 300; i++) {
        f.a = i;
        f.b += i * 3;
        f.c = (int)i - 16;
        f.d ^= i * 77;
        f.e = f.a + f.c;
        fsum = fsum * 33u + f.a + f.b + (uint32_t)f.c + f.d + f.e;
    }
    uint32_t raw;
    memcpy(&raw, &f, sizeof raw);
    printf("bitfields a=%u b=%u c=%d d=%u e=%u raw=%08x sum=%08x\n", f.a, f.b, f.c, f.d, f.e, raw,
           fsum);

    unsigned char wire[64];
    for (unsigned i = 0; i < sizeof wire; i++)
        wire[i] = (unsigned char)(i * 37 + 11);
    uint32_t usum = 0;
    for (unsigned off = 0; off < 40; off++) {
        struct packet *p = (struct packet *)(wire + off);
        usum = usum * 3u + p->word + p->half + (uint32_t)p->sword + p->tag;
        p->word = rotl(p->word, off);
        p->sword = -p->sword;
        uint32_t w;
        memcpy(&w, wire + off + 1, 4);
        w ^= 0x01010101u * off;
        memcpy(wire + off + 3, &w, 4);
    }
    uint64_t tail;
    memcpy(&tail, wire + 41, 8);
    printf("unaligned sum=%08x tail=%08x%08x\n", usum, (uint32_t)(tail >> 32), (uint32_t)tail);
    return 0;
}
