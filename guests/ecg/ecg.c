/* ecg: the clinic's proven ECG diagnosis (docs/clinic-model.md).
 *
 * Private input (fd 3): u32 LE weights length | weights file | ECG (1000 int16 LE samples).
 * Public input: none. Journal (fd 1), exactly:
 *   "ECG1" | SHA-256(weights) | SHA-256(ECG) | predicted u32 LE | classes u32 LE | scores int32 LE
 * so the proof binds the diagnosis to the committed model and to the ECG while revealing
 * neither. Integer-only arithmetic, bit-exact with infer() in
 * marketplace/clinic/ecg_format.py (which documents the format and the arithmetic). A
 * malformed input exits 2 with a one-line reason on the log (fd 2) and writes no journal. */
#include <stdint.h>
#include <string.h>

#include "zkmips.h"
#include "sha256_unrolled.h"

#define ECG_SAMPLES 1000
#define ECG_BYTES (2 * ECG_SAMPLES)
#define N_CLASSES 4
#define WEIGHTS_HEADER 16
#define WEIGHTS_VERSION 1
#define MAX_IN 128
#define MAX_HIDDEN 64
#define MAX_SHIFT 24
#define MAX_BIAS (1 << 24)
#define HIDDEN_MAX 32767
#define ENV_BLOCK 4
#define ENV_LEN (ECG_SAMPLES / ENV_BLOCK)
#define ENV_SCALE 255
#define FEATURE_ONE 127
#define JOURNAL_BYTES (4 + 32 + 32 + 4 + 4 + 4 * N_CLASSES)

static int fail(const char *why)
{
    zkm_log("ecg: %s\n", why);
    return 2;
}

static uint32_t rd_u16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

struct model {
    uint32_t n_in, n_hidden, shift;
    const int8_t *w1; /* [n_hidden][n_in] */
    const uint8_t *b1; /* int32 LE [n_hidden] (unaligned) */
    const int8_t *w2; /* [N_CLASSES][n_hidden] */
    const uint8_t *b2; /* int32 LE [N_CLASSES] */
};

/* The checks of parse_weights(): NULL when valid, else the reason. */
static const char *parse_weights(const uint8_t *w, uint32_t len, struct model *m)
{
    if (len < WEIGHTS_HEADER)
        return "weights file too short";
    if (memcmp(w, "ECGW", 4) != 0)
        return "not a weights file (bad magic)";
    if (rd_u16(w + 4) != WEIGHTS_VERSION)
        return "unsupported weights version";
    m->n_in = rd_u16(w + 6);
    m->n_hidden = rd_u16(w + 8);
    uint32_t n_out = rd_u16(w + 10);
    m->shift = w[12];
    if (m->n_in < 1 || m->n_in > MAX_IN)
        return "n_in out of range";
    if (m->n_hidden < 1 || m->n_hidden > MAX_HIDDEN)
        return "n_hidden out of range";
    if (n_out != N_CLASSES)
        return "n_out is not the number of classes";
    if (m->shift > MAX_SHIFT)
        return "shift out of range";
    if (w[13] | w[14] | w[15])
        return "reserved header bytes are not zero";
    uint32_t expect = WEIGHTS_HEADER + m->n_hidden * m->n_in + 4 * m->n_hidden + N_CLASSES * m->n_hidden +
                      4 * N_CLASSES;
    if (len != expect)
        return "weights length does not match its header";
    const uint8_t *p = w + WEIGHTS_HEADER;
    m->w1 = (const int8_t *)p;
    p += m->n_hidden * m->n_in;
    m->b1 = p;
    p += 4 * m->n_hidden;
    m->w2 = (const int8_t *)p;
    p += N_CLASSES * m->n_hidden;
    m->b2 = p;
    for (uint32_t i = 0; i < m->n_hidden + N_CLASSES; i++) {
        int32_t b = (int32_t)rd_u32(i < m->n_hidden ? m->b1 + 4 * i : m->b2 + 4 * (i - m->n_hidden));
        if (b > MAX_BIAS || b < -MAX_BIAS)
            return "a bias is out of range";
    }
    return NULL;
}

/* Q7 features: the normalised autocorrelation of the 25 Hz slope envelope, lags 1..n_in. */
static void features(const uint8_t *ecg, uint32_t n_in, int32_t *f)
{
    static int32_t x[ECG_SAMPLES + 1], c[ENV_LEN];
    for (int i = 0; i < ECG_SAMPLES; i++)
        x[i] = (int16_t)rd_u16(ecg + 2 * i);
    x[ECG_SAMPLES] = x[ECG_SAMPLES - 1];

    int32_t max = 0;
    for (int j = 0; j < ENV_LEN; j++) {
        int32_t e = 0;
        for (int t = 0; t < ENV_BLOCK; t++) {
            int32_t d = x[ENV_BLOCK * j + t + 1] - x[ENV_BLOCK * j + t];
            e += d < 0 ? -d : d;
        }
        c[j] = e; /* <= 4 * 65535 */
        if (e > max)
            max = e;
    }
    int32_t sum = 0;
    for (int j = 0; j < ENV_LEN; j++) {
        c[j] = max > 0 ? c[j] * ENV_SCALE / max : 0; /* 0..255, both operands >= 0 */
        sum += c[j];
    }
    int32_t mean = sum / ENV_LEN;
    for (int j = 0; j < ENV_LEN; j++)
        c[j] -= mean;

    int32_t r0 = 0;
    for (int j = 0; j < ENV_LEN; j++)
        r0 += c[j] * c[j]; /* <= 250 * 255^2 */
    for (uint32_t k = 1; k <= n_in; k++) {
        /* unrolled by 4 (every partial sum stays within 250 * 255^2, so the order of the
         * additions does not matter) */
        int32_t r = 0;
        const int32_t *a = c, *b = c + k;
        int j = ENV_LEN - (int)k;
        for (; j >= 4; j -= 4, a += 4, b += 4)
            r += a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3];
        for (; j > 0; j--)
            r += *a++ * *b++;
        /* |r| <= r0, so r * 127 fits int32; C's division truncates toward zero */
        f[k - 1] = r0 > 0 ? r * FEATURE_ONE / r0 : 0;
    }
}

int main(void)
{
    size_t len = 0;
    uint8_t *in = (uint8_t *)zkm_read_private_all(&len);
    if (in == NULL)
        return fail("cannot read the private input");
    if (len < 4)
        return fail("private input too short");
    uint32_t wlen = rd_u32(in);
    if (wlen > len - 4 || len - 4 - wlen != ECG_BYTES)
        return fail("private input is not weights length | weights | 2000-byte ECG");
    const uint8_t *weights = in + 4, *ecg = in + 4 + wlen;

    struct model m;
    const char *why = parse_weights(weights, wlen, &m);
    if (why != NULL)
        return fail(why);

    uint8_t journal[JOURNAL_BYTES];
    memcpy(journal, "ECG1", 4);
    sha256u(weights, wlen, journal + 4);
    sha256u(ecg, ECG_BYTES, journal + 36);

    int32_t f[MAX_IN], h[MAX_HIDDEN], scores[N_CLASSES];
    features(ecg, m.n_in, f);
    for (uint32_t i = 0; i < m.n_hidden; i++) {
        const int8_t *w = m.w1 + i * m.n_in;
        int32_t acc = (int32_t)rd_u32(m.b1 + 4 * i);
        for (uint32_t k = 0; k < m.n_in; k++)
            acc += w[k] * f[k];
        acc = acc < 0 ? 0 : acc >> m.shift;
        h[i] = acc > HIDDEN_MAX ? HIDDEN_MAX : acc;
    }
    uint32_t best = 0;
    for (uint32_t o = 0; o < N_CLASSES; o++) {
        const int8_t *w = m.w2 + o * m.n_hidden;
        int32_t acc = (int32_t)rd_u32(m.b2 + 4 * o);
        for (uint32_t i = 0; i < m.n_hidden; i++)
            acc += w[i] * h[i];
        scores[o] = acc;
        if (acc > scores[best])
            best = o;
    }

    wr_u32(journal + 68, best);
    wr_u32(journal + 72, N_CLASSES);
    for (int o = 0; o < N_CLASSES; o++)
        wr_u32(journal + 76 + 4 * o, (uint32_t)scores[o]);
    if (zkm_commit(journal, sizeof journal) != 0)
        return fail("cannot write the journal");
    free(in);
    return 0;
}
