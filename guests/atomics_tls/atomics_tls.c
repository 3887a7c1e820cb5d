/* atomics_tls: GCC atomic builtins (ll/sc retry loops with sync barriers: fetch-add,
 * exchange, compare-exchange, and/or/xor) and thread-local variables (the thread pointer
 * read with rdhwr $29, set up by glibc through set_thread_area), single-threaded but with
 * the real instruction sequences. errno, itself thread-local, is exercised through strtol. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static __thread int tls_counter = 7;
static __thread char tls_name[16] = "tls";
static int shared_counter;
static uint32_t flags;

__attribute__((noinline)) static int bump_tls(int by)
{
    tls_counter += by;
    return tls_counter;
}

int main(void)
{
    int old_sum = 0;
    for (int i = 1; i <= 100; i++)
        old_sum += __atomic_fetch_add(&shared_counter, i, __ATOMIC_SEQ_CST);
    printf("counter %d, sum of old values %d\n", shared_counter, old_sum);

    int expected = 5050, swapped = __atomic_compare_exchange_n(&shared_counter, &expected, -1, 0,
                                                               __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    int expected2 = 5050, swapped2 = __atomic_compare_exchange_n(&shared_counter, &expected2, 9, 0,
                                                                 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    printf("cas hit %d (now %d), cas miss %d (saw %d)\n", swapped, -1, swapped2, expected2);

    uint32_t prev = __atomic_exchange_n(&flags, 0xF0F0u, __ATOMIC_ACQ_REL);
    __atomic_fetch_or(&flags, 0x000Fu, __ATOMIC_RELAXED);
    __atomic_fetch_and(&flags, ~0x00F0u, __ATOMIC_RELAXED);
    uint32_t before_xor = __atomic_fetch_xor(&flags, 0xFFFFu, __ATOMIC_SEQ_CST);
    __sync_synchronize();
    printf("exchange prev %u, flags %04x (before xor %04x), sync_add %d\n", prev, flags, before_xor,
           __sync_add_and_fetch(&shared_counter, 10));

    int t = 0;
    for (int i = 0; i < 10; i++)
        t = bump_tls(i);
    tls_name[3] = '!';
    printf("tls counter %d, name %s\n", t, tls_name);

    errno = 0;
    long big = strtol("999999999999999", NULL, 10);
    printf("errno after overflow: %s (%ld)\n", errno == ERANGE ? "ERANGE" : "other", big);
    return 0;
}
