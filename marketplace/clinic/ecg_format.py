"""The clinic's formats and its fixed-point ECG classifier: the single source of truth.

Pure Python and numpy (no Django), shared by the portal, the workers, the trainer
(guests/ecg/train.py) and the tests. The C guest (guests/ecg/ecg.c) implements exactly the
same integer arithmetic; docs/clinic-model.md describes all of it.

ECG file (".ecg", what clinics upload): 10 s at 100 Hz = ECG_SAMPLES int16 little-endian
samples in microvolts (clipped to int16), exactly ECG_BYTES bytes, no header.

Weights file (the provider's private model, little-endian)::

    0   4  magic b"ECGW"
    4   2  u16 version (1)
    6   2  u16 n_in      number of features = autocorrelation lags 1..n_in (1..MAX_IN)
    8   2  u16 n_hidden  hidden units (1..MAX_HIDDEN)
    10  2  u16 n_out     must equal len(CLASSES)
    12  1  u8  shift     right shift from the hidden accumulator to the hidden activation (0..24)
    13  3  zero
    16     W1 int8[n_hidden][n_in] ‖ b1 int32[n_hidden] ‖ W2 int8[n_out][n_hidden] ‖ b2 int32[n_out]

Private input of the guest (fd 3): u32 LE weights length ‖ weights ‖ ECG (ECG_BYTES).
Public input: empty.

Journal: b"ECG1" ‖ SHA-256(weights) (32) ‖ SHA-256(ECG) (32) ‖ predicted u32 LE ‖
number of classes u32 LE ‖ scores int32 LE each. Nothing else: no weights, no samples.

Inference (all integer; "//" floors, trunc() rounds toward zero like C's "/")::

    x[0..999] int16 samples, x[1000] := x[999]
    e[j]  = sum_{i=4j}^{4j+3} |x[i+1] - x[i]|            j < 250   (25 Hz slope envelope)
    s[j]  = e[j] * 255 // max(e)      (0 if max(e) == 0)           (0..255)
    c[j]  = s[j] - sum(s) // 250                                    (-255..255)
    r[k]  = sum_{j=0}^{249-k} c[j] * c[j+k]                         k = 0..n_in
    f[k-1] = trunc(r[k] * 127 / r[0])  (0 if r[0] == 0)             Q7, |f| <= 127
    h[i]  = min(max(b1[i] + sum_k W1[i][k] f[k], 0) >> shift, 32767)
    score[o] = b2[o] + sum_i W2[o][i] h[i]
    predicted = the first o with the largest score

Bounds (enforced by check_weights) keep every intermediate inside int32, so C and Python
agree without overflow: |r[k]| <= r[0] <= 250*255^2, r[0]*127 < 2^31; |b| <= 2^24.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

ECG_RATE_HZ = 100
ECG_SAMPLES = 1000
ECG_BYTES = 2 * ECG_SAMPLES

CLASSES: tuple[str, ...] = ("normal", "bradycardia", "tachycardia", "irregular")

JOURNAL_MAGIC = b"ECG1"
WEIGHTS_MAGIC = b"ECGW"
WEIGHTS_VERSION = 1
WEIGHTS_HEADER = 16
MAX_IN = 128
MAX_HIDDEN = 64
MAX_SHIFT = 24
MAX_BIAS = 1 << 24
HIDDEN_MAX = 32767

ENV_BLOCK = 4                         # samples per envelope value: 100 Hz -> 25 Hz
ENV_LEN = ECG_SAMPLES // ENV_BLOCK    # 250
ENV_SCALE = 255
FEATURE_ONE = 127                     # features are Q7: f / 128 is the autocorrelation

JOURNAL_FIXED = len(JOURNAL_MAGIC) + 32 + 32 + 4 + 4


class FormatError(ValueError):
    """A malformed ECG, weights file or journal (one-line reason)."""


# ---------------------------------------------------------------------------- ECG file

def encode_ecg(samples) -> bytes:
    """ECG_SAMPLES samples (microvolts, any real type) -> the .ecg file: rounded to the
    nearest integer, clipped to int16, little-endian."""
    a = np.asarray(samples, dtype=np.float64).reshape(-1)
    if a.size != ECG_SAMPLES:
        raise FormatError(f"an ECG has exactly {ECG_SAMPLES} samples, not {a.size}")
    if not np.all(np.isfinite(a)):
        raise FormatError("ECG samples must be finite numbers")
    q = np.clip(np.rint(a), -32768, 32767).astype("<i2")
    return q.tobytes()


def decode_ecg(data: bytes) -> np.ndarray:
    """The .ecg file -> int16 array of ECG_SAMPLES samples (microvolts)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError("an ECG file is bytes")
    data = bytes(data)
    if len(data) != ECG_BYTES:
        raise FormatError(f"an ECG file has exactly {ECG_BYTES} bytes "
                          f"({ECG_SAMPLES} int16 samples at {ECG_RATE_HZ} Hz), not {len(data)}")
    return np.frombuffer(data, dtype="<i2").astype(np.int16)


def ecg_digest(ecg: bytes) -> bytes:
    """SHA-256 of the ECG file (32 bytes)."""
    return hashlib.sha256(bytes(ecg)).digest()


# ------------------------------------------------------------------------ weights file

@dataclass(frozen=True, eq=False)
class Weights:
    """A parsed weights file (int64 numpy arrays, for the reference arithmetic)."""
    n_in: int
    n_hidden: int
    n_out: int
    shift: int
    w1: np.ndarray     # (n_hidden, n_in)
    b1: np.ndarray     # (n_hidden,)
    w2: np.ndarray     # (n_out, n_hidden)
    b2: np.ndarray     # (n_out,)


def weights_size(n_in: int, n_hidden: int, n_out: int) -> int:
    return WEIGHTS_HEADER + n_hidden * n_in + 4 * n_hidden + n_out * n_hidden + 4 * n_out


def parse_weights(weights: bytes) -> Weights:
    """Validate and parse a weights file; FormatError says what is wrong."""
    if not isinstance(weights, (bytes, bytearray, memoryview)):
        raise FormatError("a weights file is bytes")
    w = bytes(weights)
    if len(w) < WEIGHTS_HEADER:
        raise FormatError(f"weights file too short ({len(w)} bytes, header is {WEIGHTS_HEADER})")
    if w[:4] != WEIGHTS_MAGIC:
        raise FormatError("not a weights file (bad magic)")
    version, n_in, n_hidden, n_out, shift = struct.unpack_from("<HHHHB", w, 4)
    if version != WEIGHTS_VERSION:
        raise FormatError(f"unsupported weights version {version}")
    if not 1 <= n_in <= MAX_IN:
        raise FormatError(f"n_in {n_in} out of range 1..{MAX_IN}")
    if not 1 <= n_hidden <= MAX_HIDDEN:
        raise FormatError(f"n_hidden {n_hidden} out of range 1..{MAX_HIDDEN}")
    if n_out != len(CLASSES):
        raise FormatError(f"n_out {n_out} is not the number of classes {len(CLASSES)}")
    if shift > MAX_SHIFT:
        raise FormatError(f"shift {shift} out of range 0..{MAX_SHIFT}")
    if w[13:16] != b"\0\0\0":
        raise FormatError("reserved header bytes are not zero")
    expect = weights_size(n_in, n_hidden, n_out)
    if len(w) != expect:
        raise FormatError(f"weights file has {len(w)} bytes, its header says {expect}")
    off = WEIGHTS_HEADER
    w1 = np.frombuffer(w, dtype=np.int8, count=n_hidden * n_in, offset=off).astype(np.int64)
    off += n_hidden * n_in
    b1 = np.frombuffer(w, dtype="<i4", count=n_hidden, offset=off).astype(np.int64)
    off += 4 * n_hidden
    w2 = np.frombuffer(w, dtype=np.int8, count=n_out * n_hidden, offset=off).astype(np.int64)
    off += n_out * n_hidden
    b2 = np.frombuffer(w, dtype="<i4", count=n_out, offset=off).astype(np.int64)
    if np.any(np.abs(b1) > MAX_BIAS) or np.any(np.abs(b2) > MAX_BIAS):
        raise FormatError("a bias is out of range +-2^24")
    return Weights(n_in, n_hidden, n_out, shift, w1.reshape(n_hidden, n_in), b1,
                   w2.reshape(n_out, n_hidden), b2)


def check_weights(weights: bytes) -> None:
    """FormatError if ``weights`` is not a valid weights file (magic, version, dims, length,
    bias range)."""
    parse_weights(weights)


def pack_weights(w1, b1, w2, b2, shift: int) -> bytes:
    """Integer arrays -> a weights file (validated)."""
    w1 = np.asarray(w1, dtype=np.int64)
    w2 = np.asarray(w2, dtype=np.int64)
    n_hidden, n_in = w1.shape
    n_out = w2.shape[0]
    if w2.shape != (n_out, n_hidden):
        raise FormatError("W2 shape does not match W1")
    for name, a in (("W1", w1), ("W2", w2)):
        if a.min() < -128 or a.max() > 127:
            raise FormatError(f"{name} does not fit int8")
    head = WEIGHTS_MAGIC + struct.pack("<HHHHB3x", WEIGHTS_VERSION, n_in, n_hidden, n_out, shift)
    data = (head + w1.astype(np.int8).tobytes() + np.asarray(b1, dtype="<i4").tobytes()
            + w2.astype(np.int8).tobytes() + np.asarray(b2, dtype="<i4").tobytes())
    parse_weights(data)
    return data


def weights_commitment(weights: bytes) -> bytes:
    """SHA-256 of the weights file (32 bytes): the model commitment in the journal."""
    return hashlib.sha256(bytes(weights)).digest()


def private_input(weights: bytes, ecg: bytes) -> bytes:
    """The guest's private input (fd 3): u32 LE weights length ‖ weights ‖ ECG."""
    weights, ecg = bytes(weights), bytes(ecg)
    return struct.pack("<I", len(weights)) + weights + ecg


# ------------------------------------------------------------------------- journal

@dataclass(frozen=True)
class Diagnosis:
    model_commitment: bytes
    ecg_digest: bytes
    predicted: int
    scores: tuple[int, ...]

    @property
    def label(self) -> str:
        return CLASSES[self.predicted]


def _argmax_first(scores) -> int:
    best = 0
    for i, s in enumerate(scores):
        if s > scores[best]:
            best = i
    return best


def encode_journal(d: Diagnosis) -> bytes:
    """The journal the guest writes for ``d``."""
    if len(d.model_commitment) != 32 or len(d.ecg_digest) != 32:
        raise FormatError("digests are 32 bytes")
    if not 0 <= d.predicted < len(d.scores):
        raise FormatError("predicted class out of range")
    return (JOURNAL_MAGIC + bytes(d.model_commitment) + bytes(d.ecg_digest)
            + struct.pack("<II", d.predicted, len(d.scores))
            + struct.pack(f"<{len(d.scores)}i", *d.scores))


def decode_journal(journal: bytes) -> Diagnosis:
    """Strict decoding: magic, exact length, the class count, and a predicted class that is
    the first highest score. FormatError otherwise."""
    if not isinstance(journal, (bytes, bytearray, memoryview)):
        raise FormatError("a journal is bytes")
    j = bytes(journal)
    n = len(CLASSES)
    expect = JOURNAL_FIXED + 4 * n
    if j[:4] != JOURNAL_MAGIC:
        raise FormatError("not an ECG diagnosis journal (bad magic)")
    if len(j) != expect:
        raise FormatError(f"ECG journal has {len(j)} bytes, expected {expect}")
    predicted, count = struct.unpack_from("<II", j, 68)
    if count != n:
        raise FormatError(f"ECG journal has {count} classes, expected {n}")
    scores = struct.unpack_from(f"<{n}i", j, JOURNAL_FIXED)
    if predicted >= n:
        raise FormatError(f"predicted class {predicted} out of range")
    if predicted != _argmax_first(scores):
        raise FormatError("predicted class is not the highest score")
    return Diagnosis(j[4:36], j[36:68], predicted, tuple(scores))


# ------------------------------------------------------------ sets of ECGs (testset.npz)

def pack_ecgs(samples: np.ndarray) -> dict[str, np.ndarray]:
    """ECGs (int16, shape (N, 1000)) as the low and high bytes of their sample-to-sample
    differences modulo 2^16 (arrays ``diff_lo``, ``diff_hi``), which deflate to about two
    thirds of the raw samples: how guests/ecg/train.py stores the held-out set."""
    d = (np.diff(np.asarray(samples, dtype=np.int64), axis=1, prepend=0) & 0xFFFF).astype(np.uint16)
    return {"diff_lo": (d & 0xFF).astype(np.uint8), "diff_hi": (d >> 8).astype(np.uint8)}


def unpack_ecgs(packed) -> np.ndarray:
    """The inverse of :func:`pack_ecgs` (``packed`` maps ``diff_lo``/``diff_hi``, e.g. an
    opened .npz): int16 samples, shape (N, 1000)."""
    d = packed["diff_lo"].astype(np.uint16) | (packed["diff_hi"].astype(np.uint16) << 8)
    return np.cumsum(d, axis=1, dtype=np.uint16).view(np.int16)


# ---------------------------------------------------------------- fixed-point inference

def features_batch(samples: np.ndarray, n_in: int) -> np.ndarray:
    """Q7 features (int64, shape (N, n_in)) of N ECGs (int16 samples, shape (N, 1000)):
    the normalised autocorrelation of the 25 Hz slope envelope at lags 1..n_in."""
    x = np.asarray(samples, dtype=np.int64).reshape(-1, ECG_SAMPLES)
    x = np.concatenate([x, x[:, -1:]], axis=1)
    d = np.abs(np.diff(x, axis=1))                                  # (N, 1000)
    e = d.reshape(-1, ENV_LEN, ENV_BLOCK).sum(axis=2)               # (N, 250)
    m = e.max(axis=1, keepdims=True)
    s = np.where(m > 0, (e * ENV_SCALE) // np.maximum(m, 1), 0)
    c = s - s.sum(axis=1, keepdims=True) // ENV_LEN
    r = np.stack([(c[:, :ENV_LEN - k] * c[:, k:]).sum(axis=1) for k in range(n_in + 1)], axis=1)
    r0 = r[:, :1]
    num = r[:, 1:] * FEATURE_ONE
    f = np.sign(num) * (np.abs(num) // np.maximum(r0, 1))            # C's truncating division
    return np.where(r0 > 0, f, 0)


def forward_batch(w: Weights, feats: np.ndarray) -> np.ndarray:
    """Integer MLP on Q7 features: scores (int64, shape (N, n_out))."""
    f = np.asarray(feats, dtype=np.int64)
    acc = f @ w.w1.T + w.b1
    h = np.minimum(np.maximum(acc, 0) >> w.shift, HIDDEN_MAX)
    return h @ w.w2.T + w.b2


def infer(weights: bytes, ecg: bytes) -> Diagnosis:
    """The fixed-point reference: exactly the Diagnosis the guest writes for this private
    input (FormatError for a malformed weights file or ECG, where the guest exits non-zero)."""
    w = parse_weights(weights)
    x = decode_ecg(ecg)
    scores = forward_batch(w, features_batch(x[None, :], w.n_in))[0]
    scores = tuple(int(s) for s in scores)
    return Diagnosis(weights_commitment(weights), ecg_digest(ecg), _argmax_first(scores), scores)
