"""Every constraint kind and every proof part, tampered with: the verifier rejects each.

Bad proofs are built by bypassing the prover's own sanity checks (``check=False`` skips
the debug checker and FRI's degree check) or by editing a valid proof object."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from prover import proof as codec
from prover import stark
from prover.air import System, Table
from prover.errors import VerificationError
from prover.field import P
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST, FriParams
from tests.prover.stark_examples import (exchange_system, exchange_traces, fib_table, fib_trace, range_check_system,
                            range_check_traces)

#: Test-only preset with real grinding so that a wrong nonce fails its proof of work.
POW_TEST_PARAMS = FriParams(name="INSECURE_POW_TEST", log_blowup=1, num_queries=4, pow_bits=12,
                            batch_pow_bits=10, log_final_poly_len=1, insecure=True)


@pytest.fixture(scope="module")
def fib():
    pk = stark.setup(System([fib_table()]), FAST)
    tr, pub = fib_trace(32)
    return pk, tr, pub, stark.prove(pk, {"fib": tr}, {"fib": pub})


@pytest.fixture(scope="module")
def ranged():
    pk = stark.setup(range_check_system(), FAST)
    traces = range_check_traces(32)
    return pk, traces, stark.prove(pk, traces)


def rejects(vk, proof, publics=None, match: str | None = None) -> None:
    with pytest.raises(VerificationError, match=match):
        stark.verify(vk, proof, publics)


def bump(a: np.ndarray, index) -> None:
    a[index] = (int(a[index]) + 1) % P


# -- the witness -------------------------------------------------------------------------
@pytest.mark.parametrize("row, col, kind", [(0, 0, "first row"), (0, 1, "first row"), (10, 0, "transition"),
                                            (20, 1, "transition"), (31, 1, "last row")])
def test_changed_trace_cell_fib(fib, row, col, kind):
    pk, tr, pub, _ = fib
    bad = tr.copy()
    bump(bad, (row, col))
    proof = stark.prove(pk, {"fib": bad}, {"fib": pub}, check=False)
    rejects(pk.vk, proof, {"fib": pub}, match="constraints do not hold|pcs|fri")


def test_changed_trace_cell_every_row_constraint(ranged):
    pk, traces, _ = ranged
    bad = {k: v.copy() for k, v in traces.items()}
    bump(bad["mul"], (5, 2))  # z != x*y on one row
    rejects(pk.vk, stark.prove(pk, bad, check=False))


def test_changed_public_value(fib):
    pk, _, pub, proof = fib
    stark.verify(pk.vk, proof, {"fib": pub})
    bad = copy.deepcopy(proof)
    bad.publics[0][2] = (bad.publics[0][2] + 1) % P
    rejects(pk.vk, bad)
    rejects(pk.vk, proof, {"fib": [pub[0], pub[1], (pub[2] + 1) % P]}, match="public values")


# -- LogUp ----------------------------------------------------------------------------------
def test_wrong_logup_multiplicity(ranged):
    pk, traces, _ = ranged
    bad = {k: v.copy() for k, v in traces.items()}
    bump(bad["bytes"], (7, 0))
    rejects(pk.vk, stark.prove(pk, bad, check=False), match="does not balance")


def test_forged_bus_sums_that_balance(ranged):
    """Wrong multiplicity, and the prover lies about its final sums so that they add to
    zero: the last-row constraint (and the transcript) catch it."""
    pk, traces, _ = ranged
    bad = {k: v.copy() for k, v in traces.items()}
    bump(bad["bytes"], (7, 0))
    proof = stark.prove(pk, bad, check=False)
    proof.bus_sums[0] = ((P - proof.bus_sums[1].astype(np.int64)) % P).astype(np.uint32)
    rejects(pk.vk, proof)


def test_unbalanced_bus():
    t = Table("lonely")
    a = t.main("a")
    t.send("nowhere", [a])
    pk = stark.setup(System([t]), FAST)
    proof = stark.prove(pk, {"lonely": np.arange(8, dtype=np.uint32)[:, None]}, check=False)
    rejects(pk.vk, proof, match="does not balance")


def test_changed_bus_sum_of_balanced_proof():
    pk = stark.setup(exchange_system(), FAST)
    proof = stark.prove(pk, exchange_traces())
    for ti in range(2):
        bad = copy.deepcopy(proof)
        bump(bad.bus_sums[ti], (0, 1))
        rejects(pk.vk, bad)


# -- commitments and openings ---------------------------------------------------------------
def _flip(b: bytes) -> bytes:
    return bytes([b[0] ^ 1]) + b[1:]


def test_changed_merkle_sibling(ranged):
    pk, _, proof = ranged
    for r in range(len(proof.opened)):
        bad = copy.deepcopy(proof)
        path = bad.opening_proof.query_openings[0].rounds[r].proof
        path.siblings[2] = _flip(path.siblings[2])
        rejects(pk.vk, bad, match="merkle")


def test_changed_opened_row(ranged):
    pk, _, proof = ranged
    bad = copy.deepcopy(proof)
    bump(bad.opening_proof.query_openings[1].rounds[1].rows[0], 0)
    rejects(pk.vk, bad, match="merkle")


@pytest.mark.parametrize("round_", [0, 1, 2, 3])
def test_changed_opened_value(ranged, round_):
    """Rounds: preprocessed, main, permutation, quotient."""
    pk, _, proof = ranged
    for point in range(len(proof.opened[round_][0])):
        bad = copy.deepcopy(proof)
        bump(bad.opened[round_][0][point], (0, 0))
        rejects(pk.vk, bad)


def test_changed_commitment_roots(ranged):
    pk, _, proof = ranged
    for field_name in ("main_root", "perm_root", "quotient_root"):
        bad = copy.deepcopy(proof)
        setattr(bad, field_name, _flip(getattr(bad, field_name)))
        rejects(pk.vk, bad)


def test_changed_fri_layer_value_and_final_polynomial(ranged):
    pk, _, proof = ranged
    bad = copy.deepcopy(proof)
    bump(bad.opening_proof.fri_proof.query_proofs[0].layers[0].values, (0, 0))
    rejects(pk.vk, bad, match="fri|merkle")
    bad = copy.deepcopy(proof)
    bump(bad.opening_proof.fri_proof.final_poly, (0, 0))
    rejects(pk.vk, bad)
    bad = copy.deepcopy(proof)
    bad.opening_proof.fri_proof.commit_roots[0] = _flip(bad.opening_proof.fri_proof.commit_roots[0])
    rejects(pk.vk, bad)


def test_wrong_pow_nonces():
    pk = stark.setup(System([fib_table()]), POW_TEST_PARAMS)
    tr, pub = fib_trace(16)
    proof = stark.prove(pk, {"fib": tr}, {"fib": pub})
    stark.verify(pk.vk, proof)
    for attr in ("query", "batch"):
        bad = copy.deepcopy(proof)
        holder = bad.opening_proof.fri_proof if attr == "query" else bad.opening_proof
        name = "query_pow_nonce" if attr == "query" else "batch_pow_nonce"
        # Shift the nonce until it fails the proof of work (each try passes with prob 2^-bits).
        for delta in range(1, 50):
            setattr(holder, name, getattr(holder, name) + delta)
            try:
                stark.verify(pk.vk, bad)
            except VerificationError as e:
                if "proof of work" in str(e):
                    break
            setattr(holder, name, getattr(holder, name) - delta)
        else:
            pytest.fail("no failing nonce found")


# -- replay ----------------------------------------------------------------------------------
def test_proof_replayed_against_another_statement(fib):
    pk, _, pub, proof = fib
    other_tr, other_pub = fib_trace(32, 2, 3)
    rejects(pk.vk, proof, {"fib": other_pub}, match="public values")
    # The same proof with the other statement's publics pasted in.
    bad = copy.deepcopy(proof)
    bad.publics = [list(other_pub)]
    rejects(pk.vk, bad, {"fib": other_pub})
    # Against another verifying key (same shapes, one more constraint).
    t2 = fib_table()
    t2.when_transition(stark.E.main_col(1).next - stark.E.main_col(1) - stark.E.main_col(0))
    pk2 = stark.setup(System([t2]), FAST)
    assert pk2.vk.digest != pk.vk.digest
    rejects(pk2.vk, proof, {"fib": pub})
    data = codec.encode(proof, pk.vk.digest, False)
    with pytest.raises(VerificationError, match="another verifying key"):
        codec.verify_bytes(pk2.vk, data, {"fib": pub})


def test_changed_heights(fib):
    pk, _, pub, proof = fib
    for h in (4, 6, 40):
        bad = copy.deepcopy(proof)
        bad.log_heights[0] = h
        rejects(pk.vk, bad)


def test_hiding_proof_tampering():
    pk = stark.setup(range_check_system(private=True), FAST)
    proof = stark.prove(pk, range_check_traces(32))
    stark.verify(pk.vk, proof)
    bad = copy.deepcopy(proof)
    salts = bad.opening_proof.query_openings[0].rounds[1].proof.salts
    salts[0] = _flip(salts[0])
    rejects(pk.vk, bad, match="merkle")
    bad = copy.deepcopy(proof)
    bad.opening_proof.mask_root = None
    rejects(pk.vk, bad)
    bad = copy.deepcopy(proof)
    bump(bad.opened[3][1][0], (2, 3))  # a randomised quotient chunk
    rejects(pk.vk, bad)


def test_hiding_blinds_that_do_not_cancel(monkeypatch):
    from prover import logup
    honest = logup.blinding_values

    def skewed(system, layouts, random, open_totals=None):
        out = honest(system, layouts, random, open_totals)
        out["mul"][0, 0] = (int(out["mul"][0, 0]) + 1) % P
        return out

    monkeypatch.setattr(logup, "blinding_values", skewed)
    pk = stark.setup(range_check_system(private=True), FAST)
    rejects(pk.vk, stark.prove(pk, range_check_traces(32), check=False), match="does not balance")


def test_hiding_blind_column_not_constant(monkeypatch):
    """Blinding columns that change along the trace (so that a later row could absorb an
    imbalance) violate their transition constraint."""
    from prover import logup
    honest = logup.blind_columns

    def drifting(blinds, n):
        cols = honest(blinds, n)
        cols[n // 2:, 0] = (cols[n // 2:, 0].astype(np.int64) + 1) % P
        return cols.astype(np.uint32)

    monkeypatch.setattr(logup, "blind_columns", drifting)
    pk = stark.setup(range_check_system(private=True), FAST)
    rejects(pk.vk, stark.prove(pk, range_check_traces(32), check=False), match="constraints do not hold")


def test_extra_opened_matrices_are_refused(ranged):
    """No malleability: a proof with an extra (unused) opened matrix does not verify."""
    pk, _, proof = ranged
    for r in range(len(proof.opened)):
        bad = copy.deepcopy(proof)
        bad.opened[r].append(bad.opened[r][0])
        rejects(pk.vk, bad)


def test_proof_with_another_preprocessed_table(ranged):
    """A prover that commits a different byte table (here: 255 replaced by 256, so an
    out-of-range value would pass) produces a proof for another key: rejected."""
    pk, traces, _ = ranged
    system = range_check_system()
    system.tables[0].preprocessed[255, 0] = 256
    evil = stark.setup(system, FAST)
    bad = {k: v.copy() for k, v in traces.items()}
    proof = stark.prove(evil, bad, check=False)
    stark.verify(evil.vk, proof)
    rejects(pk.vk, proof)
