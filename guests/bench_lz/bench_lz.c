/* bench_lz: LZ77 compression with hash chains (4 KiB window, matches of 3..258 bytes) of
 * N KiB of generated text (N from the public input), then decompression and a check that
 * the round trip is exact; prints the sizes and FNV-1a checksums of both streams. A
 * compression workload for the prover benchmarks: byte loads and stores, hashing, data-
 * dependent branches and a variable-length bit-free token format. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkmips.h"

#define WINDOW 4096
#define MIN_MATCH 3
#define MAX_MATCH 258
#define HASH_BITS 12
#define MAX_CHAIN 16

static const char *const WORDS[] = {
    "the", "proof", "of", "a", "segment", "joins", "memory", "and", "every", "cycle",
    "prover", "verifier", "receipt", "image", "journal", "input", "private", "public",
    "hash", "table", "lookup", "bus", "field", "challenge", "commit", "open", "query",
};

static uint32_t rng_state = 2463534242u;

static uint32_t next_random(void)
{
    return zkm_xorshift32(&rng_state);
}

/* Words drawn with a skewed distribution, with punctuation and the odd number: text
 * that compresses about as well as English prose. */
static void generate(unsigned char *out, size_t n)
{
    size_t at = 0;
    const size_t nwords = sizeof WORDS / sizeof WORDS[0];
    while (at < n) {
        uint32_t r = next_random();
        const char *w = WORDS[(r % nwords) * (r >> 28) / 16];
        char buf[24];
        int len = (r & 0x300) == 0 ? snprintf(buf, sizeof buf, "%u", (unsigned)(r >> 20))
                                   : snprintf(buf, sizeof buf, "%s", w);
        for (int i = 0; i < len && at < n; i++)
            out[at++] = (unsigned char)buf[i];
        if (at < n)
            out[at++] = (r & 0xF000) == 0 ? '\n' : ((r & 0x7000) == 0 ? ',' : ' ');
    }
}

static unsigned hash3(const unsigned char *p)
{
    return ((p[0] << 16 | p[1] << 8 | p[2]) * 2654435761u) >> (32 - HASH_BITS);
}

/* Tokens: a literal run is 0x00-0x7F (length - 1) then the bytes; a match is 0x80 | high
 * bits of (length - 3) with the distance, 3 bytes in all. */
static size_t compress(const unsigned char *in, size_t n, unsigned char *out)
{
    static int32_t head[1 << HASH_BITS];
    static int32_t prev[WINDOW];
    for (size_t i = 0; i < (1u << HASH_BITS); i++)
        head[i] = -1;
    size_t o = 0, lit_start = 0, i = 0;
    while (i < n) {
        size_t best_len = 0, best_dist = 0;
        if (i + MIN_MATCH <= n) {
            unsigned h = hash3(in + i);
            int32_t cand = head[h];
            for (int chain = 0; cand >= 0 && i - (size_t)cand <= WINDOW - 1 && chain < MAX_CHAIN; chain++) {
                size_t len = 0, limit = n - i < MAX_MATCH ? n - i : MAX_MATCH;
                while (len < limit && in[cand + len] == in[i + len])
                    len++;
                if (len > best_len) {
                    best_len = len;
                    best_dist = i - (size_t)cand;
                }
                cand = prev[cand % WINDOW];
            }
            prev[i % WINDOW] = head[h];
            head[h] = (int32_t)i;
        }
        if (best_len >= MIN_MATCH) {
            while (lit_start < i) {                       /* flush pending literals */
                size_t run = i - lit_start > 128 ? 128 : i - lit_start;
                out[o++] = (unsigned char)(run - 1);
                memcpy(out + o, in + lit_start, run);
                o += run;
                lit_start += run;
            }
            size_t code = best_len - MIN_MATCH;           /* 0..255 */
            out[o++] = (unsigned char)(0x80 | (code >> 1));
            out[o++] = (unsigned char)((code & 1) << 7 | (best_dist >> 8));
            out[o++] = (unsigned char)(best_dist & 0xFF);
            for (size_t k = 1; k < best_len; k++) {        /* index the skipped positions */
                size_t j = i + k;
                if (j + MIN_MATCH <= n) {
                    unsigned h = hash3(in + j);
                    prev[j % WINDOW] = head[h];
                    head[h] = (int32_t)j;
                }
            }
            i += best_len;
            lit_start = i;
        } else {
            i++;
        }
    }
    while (lit_start < n) {
        size_t run = n - lit_start > 128 ? 128 : n - lit_start;
        out[o++] = (unsigned char)(run - 1);
        memcpy(out + o, in + lit_start, run);
        o += run;
        lit_start += run;
    }
    return o;
}

static size_t decompress(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t i = 0, o = 0;
    while (i < n) {
        unsigned t = in[i++];
        if (t < 0x80) {
            memcpy(out + o, in + i, t + 1);
            i += t + 1;
            o += t + 1;
        } else {
            size_t code = (t & 0x7F) << 1 | in[i] >> 7;
            size_t dist = (size_t)(in[i] & 0x7F) << 8 | in[i + 1];
            i += 2;
            for (size_t k = 0; k < code + MIN_MATCH; k++, o++)
                out[o] = out[o - dist];
        }
    }
    return o;
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int main(void)
{
    long kib = 0;
    if (scanf("%ld", &kib) != 1 || kib < 1 || kib > 4096)
        return 2;
    size_t n = (size_t)kib * 1024;
    unsigned char *text = malloc(n), *packed = malloc(n + n / 128 + 16), *back = malloc(n);
    if (text == NULL || packed == NULL || back == NULL)
        return 2;
    generate(text, n);
    size_t m = compress(text, n, packed);
    size_t r = decompress(packed, m, back);
    int ok = r == n && memcmp(text, back, n) == 0;
    printf("lz77: %zu -> %zu bytes (%zu.%02zu%%), round trip %s\n", n, m, m * 100 / n, m * 10000 / n % 100,
           ok ? "exact" : "BROKEN");
    printf("fnv1a text %08x packed %08x\n", (unsigned)fnv1a(text, n), (unsigned)fnv1a(packed, m));
    return ok ? 0 : 1;
}
