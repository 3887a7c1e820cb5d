/*
 * zkmips.h - the guest SDK: public input, private input, journal and log, one call each.
 *
 * Why header-only and built on read/write: the same static binary must run unchanged
 * under the zkMIPS VM and under qemu-mipsel (the reference in differential tests), so
 * the SDK uses nothing but the ordinary Linux file descriptors the VM provides:
 *
 *   fd 0  public input   (stdin; its digest is part of the claim)
 *   fd 3  private input  (opened before start; under qemu give it with `3<file`)
 *   fd 1  journal        (stdout; bound into the proof)
 *   fd 2  log            (stderr; not proven, for debugging only)
 *
 * Plain C99, no floating point.
 */
#ifndef ZKMIPS_H
#define ZKMIPS_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ZKM_FD_PUBLIC 0
#define ZKM_FD_JOURNAL 1
#define ZKM_FD_LOG 2
#define ZKM_FD_PRIVATE 3

/* Read up to n bytes from fd, looping over short reads; returns bytes read (< n only at
 * end of input) or -1 on error. Loops because a pipe may deliver input in pieces. */
static inline ssize_t zkm__read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Read fd to its end into one malloc'ed buffer (NUL-terminated for convenience, the NUL
 * is not counted in *len). Returns NULL on a read error or when memory runs out. */
static inline char *zkm__read_all(int fd, size_t *len)
{
    size_t cap = 4096, used = 0;
    char *buf = (char *)malloc(cap);
    if (buf == NULL)
        return NULL;
    for (;;) {
        if (used + 1 == cap) {
            char *bigger = (char *)realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t r = zkm__read_full(fd, buf + used, cap - 1 - used);
        if (r < 0) {
            free(buf);
            return NULL;
        }
        used += (size_t)r;
        if (used + 1 < cap) /* short read: end of input */
            break;
    }
    buf[used] = '\0';
    if (len != NULL)
        *len = used;
    return buf;
}

/* Public input (fd 0): up to n bytes; returns bytes read or -1. */
static inline ssize_t zkm_read_public(void *buf, size_t n) { return zkm__read_full(ZKM_FD_PUBLIC, buf, n); }

/* The whole public input, malloc'ed and NUL-terminated; its length in *len. */
static inline char *zkm_read_public_all(size_t *len) { return zkm__read_all(ZKM_FD_PUBLIC, len); }

/* Private input (fd 3): up to n bytes; returns bytes read or -1. */
static inline ssize_t zkm_read_private(void *buf, size_t n) { return zkm__read_full(ZKM_FD_PRIVATE, buf, n); }

/* The whole private input, malloc'ed and NUL-terminated; its length in *len. */
static inline char *zkm_read_private_all(size_t *len) { return zkm__read_all(ZKM_FD_PRIVATE, len); }

/* Append n bytes to the journal (fd 1), looping until all are written. stdout is flushed
 * first so that printf output and committed bytes reach the journal in program order.
 * Returns 0, or -1 on a write error. */
static inline int zkm_commit(const void *buf, size_t n)
{
    size_t done = 0;
    fflush(stdout);
    while (done < n) {
        ssize_t w = write(ZKM_FD_JOURNAL, (const char *)buf + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* printf-style message to the log (fd 2), which is not proven: for debugging only. */
static inline void zkm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void zkm_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vdprintf(ZKM_FD_LOG, fmt, ap);
    va_end(ap);
}

/* Marsaglia's xorshift32: a deterministic pseudo-random stream for generated workloads
 * (the VM has no entropy a proof could rely on). *state must start non-zero. */
static inline uint32_t zkm_xorshift32(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

#endif /* ZKMIPS_H */
