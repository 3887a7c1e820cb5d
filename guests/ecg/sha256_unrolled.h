/* sha256_unrolled.h - one-shot SHA-256 (FIPS 180-4) for the ecg guest, with the rounds
 * unrolled by eight so that the working variables rotate by renaming instead of by moves
 * (about a quarter fewer cycles per block than ../sha256/sha256.h, whose compact loop the
 * benchmark guests keep). Checked against hashlib on every diagnosis (tests/clinic). */
#ifndef GUEST_SHA256_UNROLLED_H
#define GUEST_SHA256_UNROLLED_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../sha256/sha256_k.h"

#define SHA256U_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define SHA256U_ROUND(a, b, c, d, e, f, g, h, i)                                                    \
    do {                                                                                           \
        uint32_t t1 = h + (SHA256U_ROR(e, 6) ^ SHA256U_ROR(e, 11) ^ SHA256U_ROR(e, 25)) +            \
                      (g ^ (e & (f ^ g))) + sha256_k[i] + w[i];                                   \
        uint32_t t2 = (SHA256U_ROR(a, 2) ^ SHA256U_ROR(a, 13) ^ SHA256U_ROR(a, 22)) +                \
                      ((a & b) | (c & (a | b)));                                                   \
        d += t1;                                                                                   \
        h = t1 + t2;                                                                               \
    } while (0)

static void sha256u_block(uint32_t s[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++, p += 4)
        w[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    for (int i = 16; i < 64; i++) {
        uint32_t x = w[i - 15], y = w[i - 2];
        w[i] = w[i - 16] + w[i - 7] + (SHA256U_ROR(x, 7) ^ SHA256U_ROR(x, 18) ^ (x >> 3)) +
               (SHA256U_ROR(y, 17) ^ SHA256U_ROR(y, 19) ^ (y >> 10));
    }
    uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
    for (int i = 0; i < 64; i += 8) {
        SHA256U_ROUND(a, b, c, d, e, f, g, h, i);
        SHA256U_ROUND(h, a, b, c, d, e, f, g, i + 1);
        SHA256U_ROUND(g, h, a, b, c, d, e, f, i + 2);
        SHA256U_ROUND(f, g, h, a, b, c, d, e, i + 3);
        SHA256U_ROUND(e, f, g, h, a, b, c, d, i + 4);
        SHA256U_ROUND(d, e, f, g, h, a, b, c, i + 5);
        SHA256U_ROUND(c, d, e, f, g, h, a, b, i + 6);
        SHA256U_ROUND(b, c, d, e, f, g, h, a, i + 7);
    }
    s[0] += a, s[1] += b, s[2] += c, s[3] += d, s[4] += e, s[5] += f, s[6] += g, s[7] += h;
}

/* SHA-256 of n bytes at p into out. */
static void sha256u(const uint8_t *p, size_t n, uint8_t out[32])
{
    uint32_t s[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t full = n & ~(size_t)63;
    for (size_t off = 0; off < full; off += 64)
        sha256u_block(s, p + off);
    uint8_t tail[128];
    size_t rest = n - full, padded = rest < 56 ? 64 : 128;
    memset(tail, 0, sizeof tail);
    memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha256u_block(s, tail);
    if (padded == 128)
        sha256u_block(s, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(s[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s[i] >> 8);
        out[4 * i + 3] = (uint8_t)s[i];
    }
}

#endif
