/* qsort_records: libc qsort (merge sort with a temporary buffer, and the indirect
 * comparator calls through jalr) on integers and on structs with a multi-key comparator,
 * then bsearch for present and absent keys. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record {
    char name[12];
    int32_t score;
    uint16_t id;
};

static uint32_t rng = 2463534242u;
static uint32_t xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_record(const void *a, const void *b)
{
    const struct record *r = a, *s = b;
    if (r->score != s->score)
        return r->score > s->score ? -1 : 1; /* descending score */
    int c = strcmp(r->name, s->name);
    if (c != 0)
        return c;
    return (int)r->id - (int)s->id;
}

int main(void)
{
    enum { N = 5000, R = 600 };
    static int values[N];
    for (int i = 0; i < N; i++)
        values[i] = (int)(xorshift() % 200001u) - 100000;
    qsort(values, N, sizeof values[0], cmp_int);
    int sorted = 1;
    long long sum = 0;
    for (int i = 0; i < N; i++) {
        sum += values[i];
        if (i > 0 && values[i - 1] > values[i])
            sorted = 0;
    }
    printf("ints sorted=%d min=%d median=%d max=%d sum=%lld\n", sorted, values[0], values[N / 2],
           values[N - 1], sum);

    int found = 0, absent = 0;
    for (int k = -100000; k <= 100000; k += 997) {
        if (bsearch(&k, values, N, sizeof values[0], cmp_int) != NULL)
            found++;
        else
            absent++;
    }
    printf("bsearch found=%d absent=%d\n", found, absent);

    static struct record recs[R];
    static const char *syll[] = {"ka", "lo", "mi", "nu", "ri", "ta", "ze", "po"};
    for (int i = 0; i < R; i++) {
        uint32_t x = xorshift();
        snprintf(recs[i].name, sizeof recs[i].name, "%s%s%s", syll[x & 7], syll[(x >> 3) & 7],
                 syll[(x >> 6) & 7]);
        recs[i].score = (int32_t)((x >> 9) % 50);
        recs[i].id = (uint16_t)i;
    }
    qsort(recs, R, sizeof recs[0], cmp_record);
    for (int i = 0; i < 8; i++)
        printf("%2d %-8s score=%2d id=%3u\n", i, recs[i].name, recs[i].score, recs[i].id);
    unsigned digest = 0;
    for (int i = 0; i < R; i++)
        digest = digest * 16777619u ^ recs[i].id;
    printf("order digest %08x\n", digest);
    return 0;
}
