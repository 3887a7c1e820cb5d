"""Independent soundness audit of the STARK engine (see docs/audit-stark.md).

Each test plays a cheating prover: it builds the malicious proof by bypassing the honest
prover (``check=False``, monkeypatched internals, edited proof objects) and shows what the
verifier does with it.  The strongest ones (``test_forged_opening_*``) construct a proof
that passes the AIR identity at ``zeta`` for a false statement, and show that only the PCS
(DEEP quotients + FRI) stands between it and acceptance."""

from __future__ import annotations

import copy
import struct
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest

from prover import expr as E
from prover import field, fri, logup, pcs, stark
from prover import proof as codec
from prover.air import System, Table
from prover.errors import VerificationError
from prover.field import GENERATOR, P
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST, FriParams
from prover.transcript import Transcript
from tests.prover.stark_examples import fib_table, fib_trace, range_check_system, range_check_traces

#: Enough queries that a far-from-low-degree word passes FRI with probability ~2^-40, and
#: folding by 4 so that multi-arity layers are exercised too.
AUDIT = FriParams(name="INSECURE_AUDIT", log_blowup=1, num_queries=40, pow_bits=0, log_final_poly_len=1,
                  max_log_arity=2, insecure=True)
#: Real grinding at every site, so that skipping it is visible.
GRIND = FriParams(name="INSECURE_AUDIT_GRIND", log_blowup=1, num_queries=6, pow_bits=8, log_final_poly_len=1,
                  max_log_arity=2, batch_pow_bits=6, commit_pow_bits=4, insecure=True)


def _ext(x: int) -> np.ndarray:
    return field.ext_from_base(np.uint32(x % P))


def _bad_fib(n: int = 32, row: int = 10) -> tuple[np.ndarray, list[int]]:
    """A Fibonacci trace broken on one transition; publics as the honest run gives."""
    tr, pub = fib_trace(n)
    tr = tr.copy()
    tr[row, 1] = (int(tr[row, 1]) + 1) % P
    return tr, pub


# ----------------------------------------------------------------------------- Fiat-Shamir
class _Recorder:
    """Logs every absorb (its bytes) and every challenge draw of the transcripts created
    while it is installed, in order."""

    def __init__(self, monkeypatch) -> None:
        self.events: list[tuple[str, bytes | str]] = []
        absorb, sample_ext, sample_indices = Transcript.absorb_bytes, Transcript.sample_ext, Transcript.sample_indices
        rec = self

        def absorb_bytes(tr, data):
            rec.events.append(("absorb", bytes(data)))
            absorb(tr, data)

        def ext(tr):
            rec.events.append(("sample", "ext"))
            return sample_ext(tr)

        def indices(tr, count, bits):
            rec.events.append(("sample", "indices"))
            return sample_indices(tr, count, bits)

        monkeypatch.setattr(Transcript, "absorb_bytes", absorb_bytes)
        monkeypatch.setattr(Transcript, "sample_ext", ext)
        monkeypatch.setattr(Transcript, "sample_indices", indices)

    def samples(self) -> list[int]:
        return [i for i, (kind, _) in enumerate(self.events) if kind == "sample"]

    def absorbed_between(self, data: bytes, lo: int, hi: int) -> bool:
        """Whether ``data`` was absorbed (as one item) strictly between events lo and hi."""
        return any(kind == "absorb" and d == data for kind, d in self.events[lo + 1:hi])


def _u32(a) -> bytes:
    return np.asarray(a, dtype="<u4").tobytes()


@pytest.mark.parametrize("hiding", [False, True])
def test_every_proof_item_is_absorbed_before_the_challenges_that_depend_on_it(monkeypatch, hiding):
    """Replays the verifier with a recording transcript and checks the order the protocol
    needs: header < (z, beta) < perm root and bus sums < alpha < quotient root < zeta <
    opened values, mask root, batching nonce < PCS alpha < (layer root, nonce, beta)* <
    final polynomial, query nonce < query indices; nothing is drawn after the indices."""
    pk = stark.setup(range_check_system(private=hiding), GRIND)  # preprocessed + main + perm rounds
    proof = stark.prove(pk, range_check_traces(32), rng=np.random.default_rng(5))
    rec = _Recorder(monkeypatch)
    stark.verify(pk.vk, proof)
    s = rec.samples()
    fp = proof.opening_proof.fri_proof
    n_layers = len(fp.commit_roots)
    # z, beta, alpha, zeta, PCS alpha, one beta per layer, then the query indices.
    assert [rec.events[i][1] for i in s] == ["ext"] * (5 + n_layers) + ["indices"]
    z, alpha, zeta, pcs_alpha = s[0], s[2], s[3], s[4]
    start = -1
    assert rec.absorbed_between(pk.vk.digest, start, z)
    assert rec.absorbed_between(_u32(proof.log_heights), start, z)
    for pv in proof.publics:
        assert not len(pv) or rec.absorbed_between(_u32(pv), start, z)
    assert rec.absorbed_between(proof.main_root, start, z)
    assert rec.absorbed_between(proof.perm_root, s[1], alpha)
    for sums in proof.bus_sums:
        assert rec.absorbed_between(_u32(sums), s[1], alpha)
    assert rec.absorbed_between(proof.quotient_root, alpha, zeta)
    assert rec.absorbed_between(pk.vk.pre_root, zeta, pcs_alpha)  # the PCS absorbs every round's root
    for rnd in proof.opened:
        for mat in rnd:
            for v in mat:
                assert rec.absorbed_between(_u32(v), zeta, pcs_alpha)
    if hiding:
        assert rec.absorbed_between(proof.opening_proof.mask_root, zeta, pcs_alpha)
    assert rec.absorbed_between(struct.pack(">Q", proof.opening_proof.batch_pow_nonce), zeta, pcs_alpha)
    for i, (root, nonce) in enumerate(zip(fp.commit_roots, fp.commit_pow_nonces)):
        assert rec.absorbed_between(root, s[4 + i], s[5 + i])
        assert rec.absorbed_between(struct.pack(">Q", nonce), s[4 + i], s[5 + i])
    last_beta = s[4 + n_layers]
    assert rec.absorbed_between(_u32(fp.final_poly), last_beta, s[-1])
    assert rec.absorbed_between(struct.pack(">Q", fp.query_pow_nonce), last_beta, s[-1])


# ----------------------------------------------------------------------------- FRI shape
@pytest.mark.parametrize("change", [
    dict(num_queries=39), dict(num_queries=41), dict(max_log_arity=1), dict(max_log_arity=3),
    dict(log_final_poly_len=2), dict(log_final_poly_len=0), dict(log_blowup=2),
])
def test_fri_shape_is_fixed_by_the_key_not_the_proof(change):
    """A prover running FRI with other parameters (fewer queries, another arity, a longer
    final polynomial, another blowup) under the right key digest - so that the transcript
    itself does not give it away - is still rejected: every count comes from the key."""
    tr, pub = fib_trace(64)
    honest = stark.setup(System([fib_table()]), AUDIT)
    evil = stark.setup(System([fib_table()]), replace(AUDIT, **change))
    evil.vk.digest = honest.vk.digest
    proof = stark.prove(evil, {"fib": tr}, {"fib": pub})
    stark.verify(evil.vk, proof)  # valid under the cheater's own parameters
    with pytest.raises(VerificationError):
        stark.verify(honest.vk, proof)


def test_grinding_is_required_at_every_site():
    """Proofs made without grinding (pow bits 0) under the right digest are rejected by a
    key that asks for it, at each of the three sites."""
    tr, pub = fib_trace(64)
    honest = stark.setup(System([fib_table()]), GRIND)
    for site in ("pow_bits", "batch_pow_bits", "commit_pow_bits"):
        evil = stark.setup(System([fib_table()]), replace(GRIND, **{site: 0}))
        evil.vk.digest = honest.vk.digest
        with pytest.raises(VerificationError, match="proof of work"):
            # A zero-bit nonce passes b bits with probability 2^-b; try a few transcripts.
            for x in range(1, 6):
                tr, pub = fib_trace(64, x)
                stark.verify(honest.vk, stark.prove(evil, {"fib": tr}, {"fib": pub}))


def test_final_polynomial_of_higher_degree_is_refused():
    pk = stark.setup(System([fib_table()]), AUDIT)
    tr, pub = fib_trace(64)
    proof = stark.prove(pk, {"fib": tr}, {"fib": pub})
    bad = copy.deepcopy(proof)
    fp = bad.opening_proof.fri_proof
    fp.final_poly = np.vstack([fp.final_poly, np.ones((1, 4), dtype=np.uint32)])
    with pytest.raises(VerificationError, match="final polynomial"):
        stark.verify(pk.vk, bad)


# ----------------------------------------------------------------------------- DEEP / PCS binding
def _residual(info, n, zeta, cols, pv, challenges, sums, alpha, shifts, chunk_vals) -> np.ndarray:
    """``C(zeta) - Z_H(zeta) * sum_i L_i(zeta) q_i(zeta)``, re-derived independently of
    ``stark._check_table`` (which only says yes or no): zero iff the verifier's AIR check
    passes."""
    zh = field.ext_sub(field.ext_pow(zeta, n), _ext(1))
    w_inv = pow(field.two_adic_generator(n.bit_length() - 1), P - 2, P)
    n_inv = pow(n, P - 2, P)
    sel = {E.FIRST: field.ext_mul(zh, field.ext_inv(field.ext_mul_base(field.ext_sub(zeta, _ext(1)), np.uint32(n)))),
           E.LAST: field.ext_mul(field.ext_mul_base(zh, np.uint32(w_inv * n_inv % P)),
                                 field.ext_inv(field.ext_sub(zeta, _ext(w_inv)))),
           E.TRANSITION: field.ext_sub(zeta, _ext(w_inv))}
    env = E.Env(lambda kind, i, nxt: cols[kind][int(nxt)][i], lambda k: sel[k], pv, challenges, list(sums))
    folded = E.combine_at_point(info.constraints, env, alpha)
    zn = field.ext_pow(zeta, n)
    q = np.zeros(4, dtype=np.uint32)
    for i, qi in enumerate(chunk_vals):  # Lagrange over the chunk cosets, from scratch
        li = _ext(1)
        for j, sj in enumerate(shifts):
            if j != i:
                num = field.ext_sub(zn, _ext(pow(sj, n, P)))
                den = (pow(shifts[i], n, P) - pow(sj, n, P)) % P
                li = field.ext_mul(li, field.ext_mul_base(num, np.uint32(pow(den, P - 2, P))))
        q = field.ext_add(q, field.ext_mul(li, qi))
    return field.ext_sub(folded, field.ext_mul(zh, q))


def _solve_affine(f) -> np.ndarray:
    """The u with f(u) = 0 for an affine map of the extension field, f(u) = f(0) + b u."""
    f0 = f(np.zeros(4, dtype=np.uint32))
    b = field.ext_sub(f(_ext(1)), f0)
    return field.ext_mul(field.ext_neg(f0), field.ext_inv(b))


def _capture_verifier_inputs(monkeypatch, vk, proof) -> dict:
    """Replay the verifier up to its per-table AIR checks and keep their inputs
    (zeta, alpha, challenges, opened values...), letting the run continue."""
    seen: dict = {}
    with monkeypatch.context() as m:
        m.setattr(stark, "_check_table", lambda info, *args: seen.__setitem__(info.table.name, (info,) + args))
        try:
            stark.verify(vk, proof)
        except VerificationError:
            pass
    return seen


def _forge(monkeypatch, pk, traces, publics, table: str, target: str, seed: int = 3):
    """The cheating prover's full attack on a false statement: run the honest prover on a
    bad witness (no debug checks, no degree check) to learn zeta; solve for the one opened
    value that makes the AIR identity hold at zeta for ``table``; rerun (everything before
    the openings is deterministic, so zeta is unchanged) with that value substituted
    where the PCS evaluates it.  Returns the forged proof and the substituted
    ``pcs.evaluate_at`` (to replay the forgery with further changes).

    ``target``: "chunk" forges quotient chunk 0 at zeta, "next" main column 0 at zeta*omega."""
    proof1 = stark.prove(pk, traces, publics, check=False, rng=np.random.default_rng(seed))
    args = _capture_verifier_inputs(monkeypatch, pk.vk, proof1)[table]
    info, n, zeta, cols = args[0], args[1], args[2], args[3]
    chunk_vals = list(args[9])
    lh = n.bit_length() - 1
    if target == "chunk":
        opened_q0 = proof1.opened[-1][_chunk_index(pk.vk, proof1, table)][0]

        def residual(u):
            vals = chunk_vals.copy()
            vals[0] = field.ext_add(u, stark._recombine_ext(np.vstack([np.zeros((1, 4), np.uint32), opened_q0[1:]]))[0])
            return _residual(*args[:9], vals)
        u = _solve_affine(residual)
        want_point, row, honest_value = zeta, 0, opened_q0
    else:
        def residual(u):
            c = {k: [v.copy() for v in vs] for k, vs in cols.items()}
            c[E.MAIN][1][0] = u
            return _residual(info, n, zeta, c, *args[4:])
        u = _solve_affine(residual)
        main_round = 0 if pk.vk.pre_root is None else 1
        ti = [t.name for t in pk.vk.system.tables].index(table)
        want_point, row = stark._ext_mul_base(zeta, field.two_adic_generator(lh)), 0
        honest_value = proof1.opened[main_round][ti][1]
    # The target matrix is the one whose honest value at the point is the honest opening.
    honest_eval = pcs.evaluate_at

    def evil_eval(evals, domain, z, inverses=None):
        out = honest_eval(evals, domain, z, inverses)
        if np.array_equal(z, want_point) and np.array_equal(out, honest_value):
            out = out.copy()
            out[row] = u
        return out

    with monkeypatch.context() as m:
        m.setattr(pcs, "evaluate_at", evil_eval)
        proof2 = stark.prove(pk, traces, publics, check=False, rng=np.random.default_rng(seed))
    return proof2, evil_eval


def _chunk_index(vk, proof, table: str) -> int:
    """Position of ``table``'s first quotient chunk in the quotient round."""
    idx = 0
    for info, lh in zip(vk.infos, proof.log_heights):
        if info.table.name == table:
            return idx
        idx += stark.num_chunks(info.degree, lh, stark.mask_degree(lh, vk.params, vk.hiding))
    raise KeyError(table)


def _fib_case(hiding: bool):
    pk = stark.setup(System([fib_table(private=hiding)]), AUDIT, hiding=hiding)
    tr, pub = _bad_fib(64)
    return pk, {"fib": tr}, {"fib": pub}, "fib"


def _forged_sums_case(monkeypatch, hiding: bool):
    """x = 300 is sent on the byte bus (not a byte); the prover reports final sums that
    balance (the byte table's sum set to minus the mul table's) although the byte table's
    running sum does not end there."""
    honest = stark._permutation_traces

    def lying(vk, mains, pubs, challenges, blinds):
        perm, sums = honest(vk, mains, pubs, challenges, blinds)
        sums[0] = field.ext_neg(sums[1])  # tables: bytes, mul; one bus each
        return perm, sums

    monkeypatch.setattr(stark, "_permutation_traces", lying)
    pk = stark.setup(range_check_system(private=hiding), AUDIT, hiding=hiding)
    traces = range_check_traces(64)
    x, y = 300, int(traces["mul"][3, 1])
    traces["mul"][3] = (x, y, x * y, x * y * x * y % P)
    return pk, traces, None, "bytes"


@pytest.mark.parametrize("case, target", [("fib", "chunk"), ("fib-hiding", "chunk"), ("fib", "next"),
                                          ("fib-hiding", "next"), ("sums", "chunk"), ("sums-hiding", "chunk")])
def test_forged_opening_fools_the_air_check_but_not_the_pcs(monkeypatch, case, target):
    """For a false statement (a broken Fibonacci step; a non-byte value with forged LogUp
    sums that balance) the cheater solves for one opened value - a quotient chunk at zeta,
    or a main column at zeta*omega (the second DEEP point) - so that the verifier's AIR
    identity holds.  The transcript is consistent and the AIR check passes; the PCS must
    reject, and without FRI the forgery would be accepted."""
    if case.startswith("fib"):
        pk, traces, publics, table = _fib_case(case.endswith("hiding"))
    else:
        pk, traces, publics, table = _forged_sums_case(monkeypatch, case.endswith("hiding"))
    forged, _ = _forge(monkeypatch, pk, traces, publics, table, target)
    # 1. The AIR identity at zeta holds for every table.
    checked = []
    real = stark._check_table
    with monkeypatch.context() as m:
        m.setattr(stark, "_check_table", lambda info, *a: (real(info, *a), checked.append(info.table.name)))
        with pytest.raises(VerificationError, match="fri"):
            stark.verify(pk.vk, forged)
    assert sorted(checked) == sorted(t.name for t in pk.vk.system.tables)
    # 2. Only the low-degree test stands in the way: the forgery is otherwise complete.
    with monkeypatch.context() as m:
        m.setattr(fri, "verify", lambda *a, **k: None)
        stark.verify(pk.vk, forged)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_fri_checks_every_layer_against_the_previous_one(monkeypatch, layer):
    """After forging an opening (above), the cheater also replaces one FRI word by a
    low-degree one (zero): layer 0 instead of the batched DEEP quotient, or the result of
    fold 1 or 2.  Every later layer and the final polynomial are then consistent, so only
    the check that each queried row holds the value folded from the previous layer (or,
    for layer 0, recomputed from the PCS openings) catches it."""
    pk, traces, publics, table = _fib_case(False)
    _, evil_eval = _forge(monkeypatch, pk, traces, publics, table, "chunk")
    honest_prove, honest_fold = fri.prove, fri.fold_codeword
    calls = []

    def zeroing_prove(params, inputs, *a, **k):
        if layer == 0:
            inputs = {h: np.zeros_like(v) for h, v in inputs.items()}
        return honest_prove(params, inputs, *a, **k)

    def zeroing_fold(values, *a):
        calls.append(1)
        out = honest_fold(values, *a)
        return np.zeros_like(out) if len(calls) == layer else out

    monkeypatch.setattr(fri, "prove", zeroing_prove)
    monkeypatch.setattr(fri, "fold_codeword", zeroing_fold)
    with monkeypatch.context() as m:  # the same forgery, now with a "low-degree" FRI
        m.setattr(pcs, "evaluate_at", evil_eval)
        proof = stark.prove(pk, traces, publics, check=False, rng=np.random.default_rng(3))
    assert len(proof.opening_proof.fri_proof.commit_roots) == 3
    with pytest.raises(VerificationError, match=f"fri: layer {layer} disagrees"):
        stark.verify(pk.vk, proof)


@pytest.mark.parametrize("hiding", [False, True])
def test_bad_transition_is_caught_on_the_hiding_domain(hiding):
    """In hiding mode the trace sits on the even rows of H_2n and random values on the odd
    ones; transition constraints read f(x) and f(omega_n x), so a random row never sits
    between two trace rows: a broken step (first, middle or last transition) is rejected."""
    pk = stark.setup(System([fib_table(private=hiding)]), AUDIT, hiding=hiding)
    for row in (1, 40, 63):
        tr, pub = _bad_fib(64, row)
        proof = stark.prove(pk, {"fib": tr}, {"fib": pub}, check=False, rng=np.random.default_rng(row))
        with pytest.raises(VerificationError):
            stark.verify(pk.vk, proof)


# ----------------------------------------------------------------------------- AIR selectors
@pytest.mark.parametrize("log_n", [1, 3, 6])
def test_selectors_at_zeta_are_the_interpolated_row_flags(log_n):
    """The verifier's closed forms of is_first, is_last and is_transition at an
    out-of-domain point equal the interpolants of the debug checker's columns on H."""
    from prover.air import trace_env
    n = 1 << log_n
    env = trace_env(np.zeros((n, 1), dtype=np.uint32), None, [])
    zeta = np.array([7, 11, 13, 17], dtype=np.uint32)
    w_inv, first_scale, last_scale = stark.selector_scales(log_n)
    zh = field.ext_sub(field.ext_pow(zeta, n), _ext(1))
    closed = {E.FIRST: field.ext_mul_base(field.ext_mul(zh, field.ext_inv(field.ext_sub(zeta, _ext(1)))),
                                          np.uint32(first_scale)),
              E.LAST: field.ext_mul_base(field.ext_mul(zh, field.ext_inv(field.ext_sub(zeta, _ext(w_inv)))),
                                         np.uint32(last_scale)),
              E.TRANSITION: field.ext_sub(zeta, _ext(w_inv))}
    for kind, want in closed.items():
        column = np.asarray(env.selector(kind), dtype=np.uint32)[:, None]
        got = pcs.evaluate_at(column, pcs.Domain(log_n), zeta)[0]
        assert np.array_equal(got, want), kind


# ----------------------------------------------------------------------------- heights, publics
def test_claimed_height_is_part_of_the_statement():
    """A prover may pick any height within 1..2^24 (it is absorbed first and reported in
    the Statement); a height that disagrees with a preprocessed table or with the
    committed data is refused.  Callers whose statement depends on the height must read
    ``Statement.log_heights``."""
    pk = stark.setup(System([fib_table()]), AUDIT)
    tr, pub = fib_trace(2)
    st = stark.verify(pk.vk, stark.prove(pk, {"fib": tr}, {"fib": pub}))
    assert st.log_heights == {"fib": 1}
    pk = stark.setup(range_check_system(), AUDIT)
    proof = stark.prove(pk, range_check_traces(32))
    for table, h in ((0, 7), (0, 9), (1, 1), (1, 4), (1, 6)):
        bad = copy.deepcopy(proof)
        bad.log_heights[table] = h
        with pytest.raises(VerificationError):
            stark.verify(pk.vk, bad)


def test_expected_public_values_are_not_reduced_mod_p():
    """The statement a caller asks about must be the one proven: an expected public value
    of ``out + p`` (or a negative one) is another integer than ``out`` and must not
    verify (before the fix, ``verify`` reduced expected values mod p and accepted)."""
    pk = stark.setup(System([fib_table()]), AUDIT)
    tr, pub = fib_trace(16)
    proof = stark.prove(pk, {"fib": tr}, {"fib": pub})
    stark.verify(pk.vk, proof, {"fib": pub})
    for bad in ([pub[0], pub[1], pub[2] + P], [pub[0] - P, pub[1], pub[2]], [pub[0], pub[1], pub[2] - P]):
        with pytest.raises(VerificationError, match="public value"):
            stark.verify(pk.vk, proof, {"fib": bad})


# ----------------------------------------------------------------------------- LogUp
def test_helper_constraint_never_divides_by_prover_data():
    """The helper column is checked as ``h * prod d - sum m prod_{j!=i} d = 0``: no
    inversion in the verifier.  With a vanishing denominator it would leave ``h`` free, so
    the fingerprints must not depend on anything drawn after z: interaction values are
    base-field expressions of the current row (no challenges, no permutation columns)."""
    t = Table("t")
    a = t.main("a")
    with pytest.raises(ValueError):
        t.send("bus", [E.challenge(0) + a])
    with pytest.raises(ValueError):
        t.send("bus", [a], E.perm_col(0))
    with pytest.raises(ValueError):
        t.send("bus", [a.next])


def test_open_bus_total_in_hiding_mode_includes_a_prover_chosen_constant(monkeypatch):
    """In hiding mode every bus of a table gets a blinding value rho (committed before z).
    On a closed bus the totals must vanish, which forces sum rho = 0 (a non-zero constant
    cannot equal a rational function of the random z).  On an *open* bus nothing checks
    rho: the reported total is ``sum m/(z - fp) + rho`` with rho the prover's choice.
    This is sound only for callers that compare the total with a value that depends on
    this proof's z and beta (which the Statement does not expose); comparing totals of
    different proofs, or with a constant, is not.  See docs/audit-stark.md."""
    t = Table("out", private=True)
    a, m = t.mains("a", "m")
    t.send("journal", [a], m)
    system = System([t], open_buses=frozenset({"journal"}))
    pk = stark.setup(system, AUDIT)
    trace = np.zeros((128, 2), dtype=np.uint32)  # sends nothing at all
    chosen = np.array([5, 0, 0, 0], dtype=np.uint32)

    def rho(system, layouts, random, open_totals=None):
        return {"out": chosen[None, :].copy()}

    monkeypatch.setattr(logup, "blinding_values", rho)
    st = stark.verify(pk.vk, stark.prove(pk, {"out": trace}, check=False))
    assert np.array_equal(st.open_bus_sums["journal"], chosen)


# ----------------------------------------------------------------------------- encoding
def _fib_bytes() -> tuple[stark.ProvingKey, bytes]:
    pk = stark.setup(System([fib_table()]), FAST)
    tr, pub = fib_trace(16)
    return pk, codec.encode(stark.prove(pk, {"fib": tr}, {"fib": pub}), pk.vk.digest, False)


def test_decoder_range_checks_every_integer():
    pk, data = _fib_bytes()
    codec.verify_bytes(pk.vk, data)
    header = 4 + 2 + 2 + 32 + 2  # magic, version, flags, digest, table count
    cases = {
        "height above 2^24": data[:header] + bytes([25]) + data[header + 1:],
        "height zero": data[:header] + bytes([0]) + data[header + 1:],
        "non-canonical public": data[:header + 5] + struct.pack("<I", P) + data[header + 9:],
        "trailing byte": data + b"\0",
        "unknown flag": data[:6] + struct.pack("<H", 2) + data[8:],
        "table count": data[:40] + struct.pack("<H", 2) + data[42:],
    }
    for name, bad in cases.items():
        with pytest.raises(VerificationError):
            codec.verify_bytes(pk.vk, bad)


def test_verifier_work_does_not_grow_with_the_claimed_height(monkeypatch):
    """A proof claiming 2^24 rows that somehow passed the AIR check is refused on the
    FRI shape without any per-row work (nothing is sized by the claimed height)."""
    import time
    pk = stark.setup(System([fib_table()]), FAST)
    tr, pub = fib_trace(16)
    bad = stark.prove(pk, {"fib": tr}, {"fib": pub})
    bad.log_heights[0] = stark.MAX_LOG_HEIGHT
    monkeypatch.setattr(stark, "_check_table", lambda *a: None)
    start = time.perf_counter()
    with pytest.raises(VerificationError, match="layer commitments"):
        stark.verify(pk.vk, bad)
    assert time.perf_counter() - start < 2.0


def test_decoder_work_is_linear_in_the_input():
    """Counts are checked against the remaining bytes, so a proof cannot ask for more
    than its own size in items; but each item becomes a Python object, so the worst case
    is a constant-factor blow-up (measured: 31x traced memory, 64 MiB decoding for
    40-85 s - see docs/audit-stark.md, finding F4).  This pins the bound so that a regression to super-linear
    decoding is caught."""
    n = 1 << 15  # empty matrices, 8 bytes each: the densest item the grammar allows
    hdr = b"ZKMS" + struct.pack("<HH", 1, 0) + bytes(32) + struct.pack("<H", 0) + bytes(32) + b"\0" + bytes(32)
    data = hdr + struct.pack("<III", 1, 1, n) + bytes(8 * n)
    tracemalloc.start()
    try:
        with pytest.raises(VerificationError, match="end early"):
            codec.decode(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100 * len(data), peak / len(data)


# ----------------------------------------------------------------------------- parameters
def test_default_preset_reaches_its_level_on_every_instance_the_verifier_accepts():
    """The field-size terms (folding, batching, DEEP) shrink with the committed degree,
    which the prover picks up to ``2^MAX_LOG_HEIGHT`` (plain tables of that height, or
    hiding tables of half of it, whose columns are committed with degree < 2n)."""
    from prover.security import DEFAULT, InstanceShape, TARGET_CONJECTURED_BITS, conjectured_bits
    largest = InstanceShape(log_trace_len=stark.MAX_LOG_HEIGHT)
    assert conjectured_bits(DEFAULT, largest) >= TARGET_CONJECTURED_BITS
