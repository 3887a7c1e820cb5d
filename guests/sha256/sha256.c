/* sha256: FIPS 180-4 SHA-256 of the public input, plus the standard test vectors, so
 * that rotations, shifts and 32-bit additions are checked against known digests. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "zkmips.h"
#include "sha256.h"

static void print_digest(const char *label, const uint8_t d[32])
{
    printf("%s ", label);
    for (int i = 0; i < 32; i++)
        printf("%02x", d[i]);
    putchar('\n');
}

int main(void)
{
    uint8_t d[32];
    sha256((const uint8_t *)"abc", 3, d);
    print_digest("sha256(abc)", d);
    sha256((const uint8_t *)"", 0, d);
    print_digest("sha256()   ", d);

    size_t len = 0;
    char *input = zkm_read_public_all(&len);
    if (input == NULL)
        return 1;
    sha256((const uint8_t *)input, len, d);
    printf("input %zu bytes\n", len);
    print_digest("sha256(in) ", d);

    /* Streaming in uneven pieces must give the same digest. */
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    for (size_t off = 0, step = 1; off < len; off += step, step = step * 3 % 97 + 1)
        sha256_update(&ctx, (const uint8_t *)input + off, off + step > len ? len - off : step);
    uint8_t d2[32];
    sha256_final(&ctx, d2);
    printf("streaming %s\n", memcmp(d, d2, 32) == 0 ? "matches" : "DIFFERS");
    return 0;
}
