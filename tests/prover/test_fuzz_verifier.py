"""Fuzzing the verifier from bytes: random inputs, bit flips, truncations and splices
of valid proofs.  It must only ever raise VerificationError, and quickly."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from prover import proof as codec
from prover import stark
from prover.air import System
from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from tests.prover.stark_examples import fib_table, range_check_system, range_check_traces

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                        HealthCheck.function_scoped_fixture])


def _make(private: bool):
    pk = stark.setup(range_check_system(private=private), FAST)
    proof = stark.prove(pk, range_check_traces(16), rng=np.random.default_rng(3))
    return pk.vk, codec.encode(proof, pk.vk.digest, pk.vk.hiding)


VALID = {False: _make(False), True: _make(True)}
FIB_PK = stark.setup(System([fib_table()]), FAST)


def only_verification_error(vk, data: bytes) -> None:
    start = time.perf_counter()
    try:
        codec.verify_bytes(vk, data)
    except VerificationError:
        pass
    else:
        raise AssertionError("tampered proof accepted")
    assert time.perf_counter() - start < 5.0


def test_valid_proofs_verify():
    for vk, data in VALID.values():
        codec.verify_bytes(vk, data)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    only_verification_error(FIB_PK.vk, data)


@FUZZ
@given(st.binary(max_size=512))
def test_random_bytes_after_a_valid_header(tail):
    vk, data = VALID[False]
    only_verification_error(vk, data[:42] + tail)


@FUZZ
@given(st.booleans(), st.data())
def test_bit_flips(hiding, data):
    vk, valid = VALID[hiding]
    flips = data.draw(st.lists(st.integers(0, 8 * len(valid) - 1), min_size=1, max_size=3, unique=True))
    b = bytearray(valid)
    for bit in flips:
        b[bit // 8] ^= 1 << (bit % 8)
    only_verification_error(vk, bytes(b))


@FUZZ
@given(st.data())
def test_truncations_and_splices(data):
    vk, valid = VALID[False]
    cut = data.draw(st.integers(0, len(valid) - 1))
    only_verification_error(vk, valid[:cut])
    junk = data.draw(st.binary(min_size=1, max_size=64))
    at = data.draw(st.integers(0, len(valid)))
    only_verification_error(vk, valid[:at] + junk + valid[at:])


def test_huge_declared_counts_are_refused_before_allocation():
    vk, valid = VALID[False]
    for at in range(42, 200, 4):
        b = bytearray(valid)
        b[at:at + 4] = b"\xff\xff\xff\x7f"
        only_verification_error(vk, bytes(b))


@pytest.mark.parametrize("bad", [b"", b"ZKMS", b"XXXX" + bytes(100), "not bytes"])
def test_garbage(bad):
    with pytest.raises(VerificationError):
        codec.verify_bytes(FIB_PK.vk, bad)
