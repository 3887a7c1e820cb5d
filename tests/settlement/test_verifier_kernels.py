"""Differential tests of the EVM verifier's kernels (settlement/contracts/verifier/babybear.vy,
transcript.vy, two_adic.vy, through verifier/harness.vy) against the Python prover's
field, transcript and generators, on the embedded chain (the Merkle openings, DEEP quotients and FRI folds are the row
kernel's: tests/settlement/test_row_kernel.py, test_deep_fri_kernel.py); plus the gas of each kernel
(docs/evm-kernels.md quotes the numbers the gas test prints)."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from prover import field
from prover.field import P
from prover.keccak import keccak256
from prover.transcript import Transcript
from settlement import chain

SEED = 20240611


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("ZKMIPS_VYPER_CACHE", os.environ.get(
        "ZKMIPS_VYPER_CACHE", str(tmp_path_factory.getbasetemp() / "vyper-cache")))
    try:
        w3 = chain.connect_embedded()
        yield chain.deploy(w3, "verifier/harness").functions
    finally:
        mp.undo()


def pack(e) -> int:
    e = np.asarray(e)
    return sum(int(e[i]) << (64 * i) for i in range(4))


def unpack(x: int) -> np.ndarray:
    return np.array([(x >> (64 * i)) & (2**64 - 1) for i in range(4)], dtype=np.uint32)


def reverts(call) -> bool:
    try:
        call.call()
    except chain._revert_errors():
        return True
    return False


def rand_ext(rng, n=None):
    shape = (4,) if n is None else (n, 4)
    return rng.integers(0, P, size=shape, dtype=np.int64).astype(np.uint32)


EDGE = [0, 1, 2, P - 1, P - 2, (P + 1) // 2]


# ----------------------------------------------------------------------------- base field

def test_base_field(h):
    rng = np.random.default_rng(SEED)
    vals = EDGE + [int(v) for v in rng.integers(0, P, 10)]
    pairs = [(a, b) for a in EDGE for b in EDGE] + [tuple(int(v) for v in rng.integers(0, P, 2)) for _ in range(10)]
    for a, b in pairs:
        va, vb = np.array([a], dtype=np.uint32), np.array([b], dtype=np.uint32)
        assert h.add(a, b).call() == int(field.add(va, vb)[0])
        assert h.sub(a, b).call() == int(field.sub(va, vb)[0])
        assert h.mul(a, b).call() == int(field.mul(va, vb)[0])
    for a in vals:
        for e in [0, 1, 2, 7, P - 2, P - 1, 2**64 + 5, int(rng.integers(0, 2**40))]:
            assert h.pow(a, e).call() == pow(a, e, P)
        if a:
            assert h.inv(a).call() == int(field.inv(a)) == pow(a, P - 2, P)
    assert reverts(h.inv(0))
    assert reverts(h.inv(P))


# ----------------------------------------------------------------------------- extension

def test_extension_field(h):
    rng = np.random.default_rng(SEED + 1)
    edge = [np.array(v, dtype=np.uint32) for v in
            ([0, 0, 0, 0], [1, 0, 0, 0], [P - 1] * 4, [0, 0, 0, P - 1], [P - 1, 0, P - 1, 0], [0, 1, 0, 0])]
    elems = edge + list(rand_ext(rng, 12))
    for i, a in enumerate(elems):
        x = pack(a)
        assert h.e_pack(*(int(c) for c in a)).call() == x
        assert [h.e_coeff(x, k).call() for k in range(4)] == [int(c) for c in a]
        assert h.e_canonical(x).call()
        assert h.e_neg(x).call() == pack(field.ext_neg(a))
        assert h.e_square(x).call() == pack(field.ext_square(a))
        if a.any():
            inv = h.e_inv(x).call()
            assert inv == pack(field.ext_inv(a))
            assert h.e_mul(x, inv).call() == 1
        else:
            assert reverts(h.e_inv(x))
        for e in [0, 1, 5, P - 2, 2**64 + 3]:
            assert h.e_pow(x, e).call() == pack(field.ext_pow(a, e))
        for b in [0, 1, P - 1, int(rng.integers(0, P))]:
            assert h.e_mul_base(x, b).call() == pack(field.ext_mul_base(a, b))
            assert h.e_add_base(x, b).call() == pack(field.ext_add(a, field.ext_from_base(b)))
        for b in elems[i:i + 6] + elems[:2]:
            y = pack(b)
            assert h.e_add(x, y).call() == pack(field.ext_add(a, b))
            assert h.e_sub(x, y).call() == pack(field.ext_sub(a, b))
            assert h.e_mul(x, y).call() == pack(field.ext_mul(a, b))
    for bad in [P, P << 64, (P - 1) | (2**31 << 128), 1 << 255, 1 << 63]:
        assert not h.e_canonical(bad).call()


# ----------------------------------------------------------------------------- transcript

def _script(rng):
    ops = []
    for _ in range(int(rng.integers(8, 16))):
        kind = rng.choice(["absorb", "absorb", "base", "ext", "ext", "bits", "pow", "check"])
        if kind == "absorb":
            ops.append(("absorb", rng.integers(0, 256, int(rng.integers(1, 100)), dtype=np.uint8).tobytes()))
        elif kind == "bits":
            ops.append(("bits", int(rng.integers(0, 33))))
        elif kind in ("pow", "check"):
            ops.append((kind, int(rng.integers(0, 7))))
        else:
            ops.append((kind, None))
    return ops


def test_transcript_replay(h):
    rng = np.random.default_rng(SEED + 2)
    assert h.t_start(b"abc").call() == keccak256(b"zkmips-transcript-v1abc")
    assert h.t_absorb(b"\x07" * 32, b"").call() == b"\x07" * 32
    checked = 0
    for case in range(6):
        label = bytes(rng.integers(0, 256, int(rng.integers(0, 20)), dtype=np.uint8))
        py = Transcript(label)
        state = h.t_start(label).call()
        sampler = h.t_sampler(state).call()
        pending = b""
        ops = _script(rng)
        if case == 0:  # many squeezes with nothing absorbed: the counter and words carry on
            ops = [("ext", None)] * 5 + [("bits", 20)] * 9 + [("absorb", b"x"), ("base", None)] + ops
        for i, (kind, arg) in enumerate(ops):
            if kind == "absorb":
                py.absorb_bytes(arg)
                pending += arg
                continue
            if pending:  # the flush rule: every pending byte in one hash
                if len(pending) == 8 and rng.random() < 0.5:
                    state = h.t_absorb_nonce(state, int.from_bytes(pending, "big")).call()
                else:
                    state = h.t_absorb(state, pending).call()
                sampler = h.t_sampler(state).call()
                pending = b""
            if kind == "base":
                sampler, v = h.t_sample_base(sampler).call()
                assert v == py.sample_base()
            elif kind == "ext":
                sampler, v = h.t_sample_ext(sampler).call()
                assert v == pack(py.sample_ext())
            elif kind == "bits":
                sampler, v = h.t_sample_bits(sampler, arg).call()
                assert v == py.sample_bits(arg)
            elif kind == "pow":
                nonce = py.grind(arg)
                assert h.t_pow_ok(state, nonce, arg).call()
                if nonce:  # the smallest valid nonce: the one before it fails
                    assert not h.t_pow_ok(state, nonce - 1, arg).call()
                pending = struct.pack(">Q", nonce)
            else:
                nonce = int(rng.integers(0, 2**63)) * 2 + 1
                ok = py.check_pow(nonce, arg)
                assert h.t_pow_ok(state, nonce, arg).call() == ok
                pending = struct.pack(">Q", nonce)
            assert state == py._state
            checked += 1
    assert checked > 40
    # the PoW predicate at the boundaries: 0 bits always holds, 64 bits almost never
    assert h.t_pow_ok(b"\x01" * 32, 12345, 0).call()
    assert not h.t_pow_ok(b"\x01" * 32, 12345, 64).call()


# ----------------------------------------------------------------------------- FRI

def test_two_adic_generators(h):
    for k in range(28):
        g = field.two_adic_generator(k)
        assert h.f_two_adic_generator(k).call() == g
        assert h.f_two_adic_generator_inv(k).call() == pow(g, P - 2, P)
    assert reverts(h.f_two_adic_generator(28))
    assert reverts(h.f_two_adic_generator_inv(28))


# ----------------------------------------------------------------------------- gas

def test_kernel_gas(h, capsys):
    """Gas of one internal call of each kernel (msg.gas around it, less the measuring cost),
    with loose ceilings so that a regression shows; the numbers go in docs/evm-kernels.md."""
    rng = np.random.default_rng(SEED + 30)
    x, y = pack(rand_ext(rng)), pack(rand_ext(rng))
    nop = h.gas_nop().call()
    state = keccak256(b"gas")
    s0 = h.t_sampler(state).call()
    gas = {
        "mul": h.gas_mul(x & 0x7fffffff, 12345).call(),
        "pow (27-bit exponent)": h.gas_pow(12345, (1 << 27) - 1).call(),
        "inv": h.gas_inv(12345).call(),
        "e_add": h.gas_e_add(x, y).call(),
        "e_sub": h.gas_e_sub(x, y).call(),
        "e_mul": h.gas_e_mul(x, y).call(),
        "e_square": h.gas_e_square(x).call(),
        "e_mul_base": h.gas_e_mul_base(x, 12345).call(),
        "e_inv": h.gas_e_inv(x).call(),
        "e_pow (2^20-1)": h.gas_e_pow(x, (1 << 20) - 1).call(),
        "sample_ext (fresh sampler)": h.gas_sample_ext(state).call(),
        "sample_ext (continuing)": h.gas_sample_ext_cont(h.t_sample_ext(s0).call()[0]).call(),
        "sample_bits": h.gas_sample_bits(s0, 20).call(),
        "pow_ok": h.gas_pow_ok(state, 12345, 16).call(),
        "two_adic_generator": h.gas_two_adic_generator(17).call(),
    }
    gas = {k: v - nop for k, v in gas.items()}
    with capsys.disabled():
        print("\nkernel gas (one internal call, measuring overhead %d removed):" % nop)
        for k, v in gas.items():
            print(f"  {k:45s} {v:7d}")
    ceilings = {"e_add": 250, "e_mul": 800, "e_inv": 5000, "sample_ext (fresh sampler)": 2500}
    for k, c in ceilings.items():
        assert gas[k] < c, (k, gas[k])
