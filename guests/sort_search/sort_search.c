/* sort_search: hand-written sorts (insertion, heap, bottom-up merge, 3-way quicksort)
 * over the same pseudo-random data, cross-checked against each other, then binary and
 * interpolation search, and a hash-table lookup workload with open addressing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1500

static uint32_t seed = 88172645u;
static uint32_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

static void insertion_sort(int32_t *a, int n)
{
    for (int i = 1; i < n; i++) {
        int32_t v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void sift_down(int32_t *a, int start, int end)
{
    int root = start;
    while (2 * root + 1 <= end) {
        int child = 2 * root + 1, swap = root;
        if (a[swap] < a[child])
            swap = child;
        if (child + 1 <= end && a[swap] < a[child + 1])
            swap = child + 1;
        if (swap == root)
            return;
        int32_t t = a[root];
        a[root] = a[swap];
        a[swap] = t;
        root = swap;
    }
}

static void heap_sort(int32_t *a, int n)
{
    for (int start = (n - 2) / 2; start >= 0; start--)
        sift_down(a, start, n - 1);
    for (int end = n - 1; end > 0; end--) {
        int32_t t = a[end];
        a[end] = a[0];
        a[0] = t;
        sift_down(a, 0, end - 1);
    }
}

static void merge_sort(int32_t *a, int n)
{
    int32_t *tmp = malloc(sizeof *tmp * (size_t)n);
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n;
            int hi = lo + 2 * width < n ? lo + 2 * width : n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = a[i] <= a[j] ? a[i++] : a[j++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        memcpy(a, tmp, sizeof *a * (size_t)n);
    }
    free(tmp);
}

static void quick_sort3(int32_t *a, int lo, int hi)
{
    while (lo < hi) {
        int32_t pivot = a[lo + (hi - lo) / 2];
        int lt = lo, gt = hi, i = lo;
        while (i <= gt) {
            if (a[i] < pivot) {
                int32_t t = a[lt]; a[lt++] = a[i]; a[i++] = t;
            } else if (a[i] > pivot) {
                int32_t t = a[gt]; a[gt--] = a[i]; a[i] = t;
            } else {
                i++;
            }
        }
        if (lt - lo < hi - gt) {
            quick_sort3(a, lo, lt - 1);
            lo = gt + 1;
        } else {
            quick_sort3(a, gt + 1, hi);
            hi = lt - 1;
        }
    }
}

static int binary_search(const int32_t *a, int n, int32_t key)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + ((hi - lo) >> 1);
        if (a[mid] == key)
            return mid;
        if (a[mid] < key)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

static int interpolation_search(const int32_t *a, int n, int32_t key)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi && key >= a[lo] && key <= a[hi]) {
        if (a[hi] == a[lo])
            return a[lo] == key ? lo : -1;
        int pos = lo + (int)((int64_t)(key - a[lo]) * (hi - lo) / (a[hi] - a[lo]));
        if (a[pos] == key)
            return pos;
        if (a[pos] < key)
            lo = pos + 1;
        else
            hi = pos - 1;
    }
    return -1;
}

int main(void)
{
    static int32_t orig[N], a[N], b[N], c[N], d[N];
    for (int i = 0; i < N; i++)
        orig[i] = (int32_t)(rnd() % 100000u) - 50000;
    memcpy(a, orig, sizeof a);
    memcpy(b, orig, sizeof b);
    memcpy(c, orig, sizeof c);
    memcpy(d, orig, sizeof d);
    insertion_sort(a, N);
    heap_sort(b, N);
    merge_sort(c, N);
    quick_sort3(d, 0, N - 1);
    int agree = memcmp(a, b, sizeof a) == 0 && memcmp(a, c, sizeof a) == 0 &&
                memcmp(a, d, sizeof a) == 0;
    printf("four sorts agree: %s; a[0]=%d a[%d]=%d a[%d]=%d\n", agree ? "yes" : "NO", a[0], N / 2,
           a[N / 2], N - 1, a[N - 1]);

    int hits = 0, same = 0;
    for (int k = 0; k < 2000; k++) {
        int32_t key = (int32_t)(rnd() % 100000u) - 50000;
        int i = binary_search(a, N, key), j = interpolation_search(a, N, key);
        hits += i >= 0;
        same += (i >= 0) == (j >= 0) && (i < 0 || a[i] == a[j]);
    }
    printf("search: %d hits of 2000, searches agree %d times\n", hits, same);

    /* Open-addressing hash set of the values: membership must match the sorted search. */
    enum { CAP = 8192 };
    static int32_t table[CAP];
    static uint8_t used[CAP];
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        uint32_t h = ((uint32_t)orig[i] * 2654435761u) >> 19;
        while (used[h] && table[h] != orig[i])
            h = (h + 1) & (CAP - 1);
        if (!used[h]) {
            used[h] = 1;
            table[h] = orig[i];
            distinct++;
        }
    }
    int mismatches = 0;
    for (int32_t key = -50000; key < 50000; key += 37) {
        uint32_t h = ((uint32_t)key * 2654435761u) >> 19;
        while (used[h] && table[h] != key)
            h = (h + 1) & (CAP - 1);
        mismatches += (used[h] != 0) != (binary_search(a, N, key) >= 0);
    }
    printf("hash set: %d distinct, %d mismatches\n", distinct, mismatches);
    return !agree || mismatches != 0;
}
