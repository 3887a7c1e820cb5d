"""The Byte and Range16 lookup tables and the LookupCounter that fills their multiplicities.

A driver table sends byte tuples of every kind and range16 values; honest lookups prove and
verify, and each way of cheating (a wrong AND/OR/XOR result, a non-byte, a value past
2^16, an unknown kind, a multiplicity off by one) is rejected by the verifier."""

from __future__ import annotations

import numpy as np
import pytest

from prover import stark
from prover.air import ConstraintError, System, Table, check_buses
from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips.lookup import (BYTE_TABLE, RANGE16_TABLE, LookupCounter, build_byte, build_range16, byte_trace,
                                  lookup_traces, range16_trace)
from prover.zkmips.spec import (BUS_BYTE, BUS_RANGE16, BYTE_AND, BYTE_OR, BYTE_RANGE, BYTE_XOR,
                                range_check_bytes)


def _driver() -> Table:
    t = Table("driver")
    kind, x, y, z, v, m = t.mains("kind", "x", "y", "z", "v", "m")
    t.send(BUS_BYTE, [kind, x, y, z], m)
    t.send(BUS_RANGE16, [v], m)
    return t


@pytest.fixture(scope="module")
def pk():
    return stark.setup(System([build_byte(), build_range16(), _driver()]), FAST)


def _honest_driver(n: int = 64, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4, n)
    x, y = rng.integers(0, 256, n), rng.integers(0, 256, n)
    x[:4], y[:4] = [0, 255, 255, 0], [0, 255, 0, 255]
    z = np.select([kind == BYTE_AND, kind == BYTE_OR, kind == BYTE_XOR], [x & y, x | y, x ^ y], 0)
    v = rng.integers(0, 1 << 16, n)
    v[:2] = [0, 65535]
    m = np.ones(n, dtype=np.int64)
    m[-3:] = 0  # padding-like rows: not counted
    return np.stack([kind, x, y, z, v, m], axis=1).astype(np.uint32)


def _traces(driver: np.ndarray, counted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Lookup traces with multiplicities counted from ``counted`` (default: the driver)."""
    lc = LookupCounter()
    lc.add_table(_driver(), driver if counted is None else counted)
    return {BYTE_TABLE: byte_trace(lc), RANGE16_TABLE: range16_trace(lc), "driver": driver}


def _rejected(pk, traces) -> None:
    """The debug checker finds an unbalanced lookup bus, and the verifier rejects."""
    with pytest.raises(ConstraintError, match="bus '(byte|range16)' unbalanced"):
        check_buses(pk.vk.system, traces)
    proof = stark.prove(pk, traces, check=False)
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, proof)


def test_honest_lookups_prove_and_verify(pk):
    traces = _traces(_honest_driver())
    check_buses(pk.vk.system, traces)
    stark.verify(pk.vk, stark.prove(pk, traces))


def test_explicit_reports_match_counting_the_trace():
    d = _honest_driver(200, seed=3).astype(np.int64)
    by_trace = LookupCounter()
    by_trace.add_table(_driver(), d.astype(np.uint32))
    by_hand = LookupCounter()
    live = d[:, 5] == 1
    for kind in (BYTE_AND, BYTE_OR, BYTE_XOR, BYTE_RANGE):
        sel = live & (d[:, 0] == kind)
        by_hand.add_byte(kind, d[sel, 1], d[sel, 2])
    by_hand.add_range16(d[:, 4], count=d[:, 5])
    assert np.array_equal(by_trace.byte, by_hand.byte)
    assert np.array_equal(by_trace.range16, by_hand.range16)


def test_add_range_bytes_pairs_limbs_like_range_check_bytes():
    t = Table("limbs")
    limbs = t.mains("l0", "l1", "l2")
    live = t.main("live")
    range_check_bytes(t, limbs, live)
    rng = np.random.default_rng(5)
    trace = np.concatenate([rng.integers(0, 256, (16, 3)), rng.integers(0, 2, (16, 1))], axis=1)
    a, b = LookupCounter(), LookupCounter()
    a.add_table(t, trace.astype(np.uint32))
    b.add_range_bytes([trace[:, 0], trace[:, 1], trace[:, 2]], count=trace[:, 3])
    assert np.array_equal(a.byte, b.byte) and a.byte.sum() == 2 * trace[:, 3].sum()


def test_lookup_traces_of_several_tables():
    d = _honest_driver()
    out = lookup_traces([_driver(), build_byte()], {"driver": d, BYTE_TABLE: np.zeros((1 << 16, 4), np.uint32)})
    ref = _traces(d)
    assert np.array_equal(out[BYTE_TABLE], ref[BYTE_TABLE]) and np.array_equal(out[RANGE16_TABLE], ref[RANGE16_TABLE])


def test_merge_adds_counts():
    a, b = LookupCounter(), LookupCounter()
    a.add_byte(BYTE_XOR, [1, 2], [3, 4])
    b.add_byte(BYTE_XOR, 1, 3, count=5)
    b.add_range16([7, 7])
    a.merge(b)
    assert a.byte[BYTE_XOR, 1 + 256 * 3] == 6 and a.range16[7] == 2


@pytest.mark.parametrize("call, message", [
    (lambda lc: lc.add_byte(BYTE_AND, [256], [0]), "outside [0, 256)"),
    (lambda lc: lc.add_byte(7, [1], [0]), "unknown byte lookup kind 7"),
    (lambda lc: lc.add_range16([1 << 16]), "outside [0, 65536)"),
    (lambda lc: lc.add_range16([-1]), "outside [0, 65536)"),
    (lambda lc: lc.add_byte(BYTE_OR, [1.5], [0]), "expected integers"),
])
def test_bad_reports_are_refused_in_one_line(call, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        call(LookupCounter())


def test_counting_a_trace_with_a_wrong_byte_result_names_the_table():
    d = _honest_driver(8)
    d[0, :5] = [BYTE_XOR, 3, 5, 7, 0]
    with pytest.raises(ValueError, match="table driver .* not in the Byte table"):
        LookupCounter().add_table(_driver(), d)


def _forge(row: int, **cols: int):
    """The honest driver with some columns of one live row changed; the lookup tables keep
    the honest counts, so only the changed tuple can make the bus unbalanced."""
    names = ["kind", "x", "y", "z", "v", "m"]

    def make() -> dict[str, np.ndarray]:
        honest = _honest_driver()
        forged = honest.copy()
        for name, value in cols.items():
            forged[row, names.index(name)] = value
        return _traces(forged, counted=honest)
    return make


@pytest.mark.parametrize("make", [
    _forge(4, kind=BYTE_AND, x=0xF0, y=0x3C, z=0x31),   # wrong AND
    _forge(4, kind=BYTE_OR, x=0xF0, y=0x0F, z=0xFE),    # wrong OR
    _forge(4, kind=BYTE_XOR, x=0xFF, y=0x0F, z=0xF1),   # wrong XOR
    _forge(4, kind=BYTE_RANGE, x=256, y=0, z=0),        # non-byte x
    _forge(4, kind=BYTE_RANGE, x=1, y=0, z=1),          # range kind with z != 0
    _forge(4, kind=4, x=1, y=2, z=0),                   # no such kind
    _forge(5, v=1 << 16),                               # range16 overflow
    _forge(5, v=(1 << 31) - (1 << 27)),                 # "negative" value -1
    _forge(61, kind=BYTE_AND, x=1, y=1, z=1, m=1),      # an uncounted (legal) padding lookup
], ids=["and", "or", "xor", "non-byte", "range-z", "kind", "range16", "minus-one", "padding"])
def test_forged_lookups_are_rejected(pk, make):
    _rejected(pk, make())


def test_multiplicity_off_by_one_is_rejected(pk):
    traces = _traces(_honest_driver())
    traces[BYTE_TABLE] = traces[BYTE_TABLE].copy()
    traces[BYTE_TABLE][0x1234, 2] += 1
    _rejected(pk, traces)
    traces = _traces(_honest_driver())
    traces[RANGE16_TABLE] = traces[RANGE16_TABLE].copy()
    traces[RANGE16_TABLE][9, 0] += 1
    _rejected(pk, traces)
