/* bench_parse: a recursive-descent JSON parser over N KiB of generated JSON (nested
 * objects and arrays of integers, strings with escapes, true/false/null; N from the public
 * input). It validates the document and prints what it found: values by kind, the sum of
 * the integers, the deepest nesting and a checksum of the decoded strings. A parser
 * workload for the prover benchmarks: byte-at-a-time scanning, dense branches, recursion. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zkmips.h"

static uint32_t rng_state = 88172645u;

static uint32_t next_random(void)
{
    return zkm_xorshift32(&rng_state);
}

/* ------------------------------------------------------------------ generator */
static char *doc;
static size_t cap, len;

static void put(const char *s)
{
    size_t n = strlen(s);
    if (len + n + 1 > cap) {
        cap = 2 * cap + n + 64;
        doc = realloc(doc, cap);
        if (doc == NULL)
            exit(2);
    }
    memcpy(doc + len, s, n + 1);
    len += n;
}

static void gen_value(int depth)
{
    uint32_t r = next_random();
    char buf[32];
    unsigned kind = depth > 6 ? r % 4 : r % 6;
    if (kind == 0) {
        snprintf(buf, sizeof buf, "%ld", (long)(int32_t)r / 4096);
        put(buf);
    } else if (kind == 1) {
        static const char *const names[] = {"alpha", "beta\\n", "gamma \\\"q\\\"", "delta\\\\", "e"};
        put("\"");
        put(names[(r >> 8) % 5]);
        put("\"");
    } else if (kind == 2) {
        put((r >> 8) & 1 ? "true" : "false");
    } else if (kind == 3) {
        put("null");
    } else if (kind == 4) {
        unsigned n = (r >> 8) % 6;
        put("[");
        for (unsigned i = 0; i < n; i++) {
            if (i)
                put(", ");
            gen_value(depth + 1);
        }
        put("]");
    } else {
        unsigned n = (r >> 8) % 5;
        put("{");
        for (unsigned i = 0; i < n; i++) {
            snprintf(buf, sizeof buf, "%s\"k%u\": ", i ? ", " : "", (unsigned)(next_random() % 100));
            put(buf);
            gen_value(depth + 1);
        }
        put("}");
    }
}

/* ------------------------------------------------------------------ parser */
struct stats {
    long numbers, strings, literals, arrays, objects, max_depth;
    uint32_t sum, string_hash;
};

static const char *p;
static struct stats st;

static void fail(const char *what)
{
    printf("parse error at byte %ld: %s\n", (long)(p - doc), what);
    exit(1);
}

static void skip_ws(void)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
}

static void parse_string(void)
{
    if (*p++ != '"')
        fail("expected a string");
    for (;;) {
        char c = *p++;
        if (c == '"')
            break;
        if (c == '\0')
            fail("unterminated string");
        if (c == '\\') {
            char e = *p++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == '"' || e == '\\' || e == '/' ? e : 0;
            if (c == 0)
                fail("bad escape");
        }
        st.string_hash = (st.string_hash ^ (unsigned char)c) * 16777619u;
    }
    st.strings++;
}

static void parse_value(long depth)
{
    if (depth > st.max_depth)
        st.max_depth = depth;
    skip_ws();
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p++;
        skip_ws();
        if (*p != close) {
            for (;;) {
                if (object) {
                    skip_ws();
                    parse_string();
                    st.strings--;            /* keys are not values */
                    skip_ws();
                    if (*p++ != ':')
                        fail("expected ':'");
                }
                parse_value(depth + 1);
                skip_ws();
                if (*p == ',') {
                    p++;
                    continue;
                }
                break;
            }
        }
        if (*p++ != close)
            fail("expected a closing bracket");
        if (object)
            st.objects++;
        else
            st.arrays++;
    } else if (*p == '"') {
        parse_string();
    } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
        int neg = *p == '-';
        if (neg)
            p++;
        if (*p < '0' || *p > '9')
            fail("expected a digit");
        uint32_t v = 0;
        while (*p >= '0' && *p <= '9')
            v = v * 10 + (uint32_t)(*p++ - '0');
        st.sum += neg ? -v : v;
        st.numbers++;
    } else if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4)) {
        p += 4;
        st.literals++;
    } else if (!strncmp(p, "false", 5)) {
        p += 5;
        st.literals++;
    } else {
        fail("unexpected character");
    }
}

int main(void)
{
    long kib = 0;
    if (scanf("%ld", &kib) != 1 || kib < 1 || kib > 4096)
        return 2;
    put("[");
    while (len < (size_t)kib * 1024) {
        if (len > 1)
            put(",\n");
        gen_value(1);
    }
    put("]");
    p = doc;
    parse_value(0);
    skip_ws();
    if (*p != '\0')
        fail("trailing bytes");
    printf("json: %zu bytes, %ld numbers (sum %u), %ld strings (hash %08x), %ld literals, "
           "%ld arrays, %ld objects, depth %ld\n", len, st.numbers, (unsigned)st.sum, st.strings,
           (unsigned)st.string_hash, st.literals, st.arrays, st.objects, st.max_depth);
    return 0;
}
