"""Keccak Fiat-Shamir transcript: the documented construction, dependence, sampling, grinding."""

import struct
import time

import numpy as np
import pytest

from prover.field import P
from prover.keccak import keccak256
from prover.transcript import Transcript


def test_construction_matches_documentation():
    def fresh():
        t = Transcript(b"lbl")
        t.absorb_digest(bytes(range(32)))
        t.absorb_field([1, 2])
        return t

    state = keccak256(keccak256(b"zkmips-transcript-v1lbl") + b"\x00" + bytes(range(32)) + struct.pack("<2I", 1, 2))
    blocks = [struct.unpack(">8I", keccak256(state + b"\x01" + struct.pack(">I", c))) for c in range(2)]
    raw = fresh()
    assert [raw.sample_bits(32) for _ in range(9)] == list(blocks[0]) + [blocks[1][0]]
    accepted = [w & (2**31 - 1) for w in blocks[0] + blocks[1] if w & (2**31 - 1) < P]
    base = fresh()
    assert [base.sample_base() for _ in range(len(accepted))] == accepted


def test_deterministic_and_label_dependent():
    def run(label, data):
        t = Transcript(label)
        t.absorb_bytes(data)
        return t.sample_base(), tuple(t.sample_ext()), t.sample_indices(3, 20)

    assert run(b"a", b"x") == run(b"a", b"x")
    assert run(b"a", b"x") != run(b"b", b"x")
    assert run(b"a", b"x") != run(b"a", b"y")


def test_every_sample_depends_on_everything_absorbed_before():
    t1, t2 = Transcript(b"t"), Transcript(b"t")
    for t in (t1, t2):
        t.absorb_field([5])
        t.sample_base()
    t1.absorb_ext(np.array([1, 2, 3, 4], dtype=np.uint32))
    t2.absorb_ext(np.array([1, 2, 3, 5], dtype=np.uint32))
    assert t1.sample_base() != t2.sample_base()


def test_consecutive_samples_differ():
    t = Transcript(b"t")
    xs = [t.sample_base() for _ in range(100)]
    assert len(set(xs)) == 100 and all(0 <= x < P for x in xs)


def test_sampling_roughly_uniform():
    t = Transcript(b"u")
    bits = np.array(t.sample_indices(4000, 4))
    counts = np.bincount(bits, minlength=16)
    assert counts.min() > 180 and counts.max() < 320
    xs = np.array([t.sample_base() for _ in range(4000)])
    assert 0.45 < (xs < P // 2).mean() < 0.55


def test_sample_ext_shape():
    e = Transcript(b"e").sample_ext()
    assert e.shape == (4,) and e.dtype == np.uint32 and (e < P).all()


def test_bad_input():
    t = Transcript(b"t")
    with pytest.raises(ValueError):
        t.absorb_field([P])
    with pytest.raises(ValueError):
        t.absorb_digest(b"short")
    with pytest.raises(ValueError):
        t.absorb_ext([1, 2, 3])
    with pytest.raises(ValueError):
        t.sample_bits(33)


def pow_value(prefix_transcript, nonce):
    state = prefix_transcript._pow_prefix()
    return int.from_bytes(keccak256(state + b"\x02" + struct.pack(">Q", nonce)), "big")


@pytest.mark.parametrize("bits", [0, 1, 8, 14])
def test_grind_and_check(bits):
    prover, verifier = Transcript(b"p"), Transcript(b"p")
    for t in (prover, verifier):
        t.absorb_bytes(b"commitment")
    probe = Transcript(b"p")
    probe.absorb_bytes(b"commitment")
    nonce = prover.grind(bits)
    assert pow_value(probe, nonce) < 1 << (256 - bits)
    assert verifier.check_pow(nonce, bits)
    assert prover.sample_base() == verifier.sample_base()


def test_wrong_nonce_rejected():
    prover, verifier = Transcript(b"p"), Transcript(b"p")
    nonce = prover.grind(12)
    bad = next(n for n in range(nonce + 1, nonce + 100000) if pow_value(Transcript(b"p"), n) >= 1 << 244)
    assert not verifier.check_pow(bad, 12)


def test_nonce_is_absorbed():
    a, b = Transcript(b"p"), Transcript(b"p")
    a.check_pow(1, 0)
    b.check_pow(2, 0)
    assert a.sample_base() != b.sample_base()


def test_grind_16_bits_is_fast():
    t = Transcript(b"fast")
    t.grind(8)  # warm up any compilation
    start = time.perf_counter()
    t.grind(16)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("nonce", [-1, 1 << 64, 1.0, "1", None, True])
def test_check_pow_rejects_malformed_nonce(nonce):
    assert Transcript(b"p").check_pow(nonce, 0) is False


def test_bad_pow_bits_is_a_caller_error():
    with pytest.raises(ValueError):
        Transcript(b"p").grind(65)
