/* strings: the string.h/stdlib.h workhorses glibc implements in hand-written MIPS
 * assembly (memcpy/memset/memmove with lwl/lwr/swl/swr and pref on unaligned buffers,
 * strlen, strcmp) and in C (strstr, strtok, strtol/strtoul with bases and errors, strchr,
 * strrchr, strspn, strncpy, strdup, memcmp, memchr). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

int main(void)
{
    const char *text = "the quick brown fox jumps over the lazy dog; the end";
    printf("strlen=%zu strchr=%td strrchr=%td\n", strlen(text), strchr(text, 'q') - text,
           strrchr(text, 't') - text);
    printf("strstr(lazy)=%td strstr(cat)=%s\n", strstr(text, "lazy") - text,
           strstr(text, "cat") ? "found" : "null");
    printf("strcmp %d %d %d, strncmp %d, memcmp %d\n", strcmp("abc", "abd") < 0,
           strcmp("abc", "abc") == 0, strcmp("b", "abc") > 0, strncmp("abcdef", "abcxyz", 3),
           memcmp("\x01\x02\xff", "\x01\x02\x01", 3) > 0);
    printf("strspn=%zu strcspn=%zu\n", strspn("aaabbbccc", "ab"), strcspn(text, ";"));

    char line[] = "alpha, beta,,gamma ;delta";
    int count = 0;
    for (char *tok = strtok(line, " ,;"); tok != NULL; tok = strtok(NULL, " ,;"))
        printf("token %d: %s\n", count++, tok);

    const char *nums[] = {"12345", "-42", "0x1F", "077", "z", "  +9xyz", "99999999999", "-0"};
    int bases[] = {10, 10, 16, 8, 36, 10, 10, 0};
    for (int i = 0; i < 8; i++) {
        char *end;
        errno = 0;
        long v = strtol(nums[i], &end, bases[i]);
        printf("strtol(\"%s\", %d) = %ld rest=\"%s\" erange=%d\n", nums[i], bases[i], v, end,
               errno == ERANGE);
    }
    printf("strtoul=%lu strtoll=%lld atoi=%d\n", strtoul("4294967295", NULL, 10),
           strtoll("-9223372036854775807", NULL, 10), atoi("  -17abc"));

    /* Unaligned copies and overlapping moves over a buffer with a known pattern. */
    static unsigned char buf[4096 + 64];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 131 + 7);
    uint32_t h = 0;
    for (size_t src = 0; src < 8; src++) {
        for (size_t dst = 0; dst < 8; dst++) {
            size_t n = 37 + src * 100 + dst * 13;
            static unsigned char out[2048];
            memset(out, 0xEE, sizeof out);
            memcpy(out + dst, buf + src, n);
            h = h * 7 + fnv(out, sizeof out);
        }
    }
    memmove(buf + 3, buf, 2000);  /* overlap, forward */
    memmove(buf + 100, buf + 101, 3000); /* overlap, backward */
    memset(buf + 1001, 0, 513);
    h ^= fnv(buf, sizeof buf);
    printf("copy digest %08x\n", h);
    unsigned char *hit = memchr(buf, 0, sizeof buf);
    printf("memchr zero at %td\n", hit ? hit - buf : -1);

    char dst[16];
    strncpy(dst, "abc", sizeof dst);
    printf("strncpy pads: %d\n", dst[15] == 0 && dst[3] == 0);
    char *dup = strdup(text);
    char *upper = dup;
    for (; *upper; upper++)
        if (*upper >= 'a' && *upper <= 'z')
            *upper = (char)(*upper - 'a' + 'A');
    printf("%s\n", dup);
    strcat(strcpy(dst, "con"), "cat");
    printf("%s %zu\n", dst, strnlen(dst, 4));
    free(dup);
    return 0;
}
