"""A shared argument: several proofs whose open bus balances only over all of them.

The producer's sends live in one proof and the consumer's receives in another (as a
segment's memory writes and the next segment's reads do). Each proof is committed first;
the LogUp challenges come from a seed over both proofs' bindings; the open-bus totals
carry blinds that cancel over the parts.
"""

from __future__ import annotations

import numpy as np
import pytest

from prover import field, stark
from prover.errors import VerificationError
from prover.keccak import keccak256
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from tests.prover.stark_examples import exchange_system, exchange_traces


def _system():
    system = exchange_system()
    system.open_buses = frozenset({"kv"})
    for t in system.tables:
        t.private = True          # hiding mode: the open totals carry blinds
    return system


def _parts(traces):
    """Part 0 produces (consumer unused), part 1 consumes (producer counts 0)."""
    a = {k: v.copy() for k, v in traces.items()}
    b = {k: v.copy() for k, v in traces.items()}
    a["consumer"][:, 2] = 0
    b["producer"][:, 2] = 0
    return [a, b]


def _blinds(n: int, rng) -> list[dict[str, np.ndarray]]:
    vals = [rng.integers(0, field.P, 4, dtype=np.uint64).astype(np.uint32) for _ in range(n - 1)]
    last = np.zeros(4, np.uint32)
    for v in vals:
        last = field.ext_sub(last, v)
    return [{"kv": v} for v in [*vals, last]]


def _pad(traces, rows: int = 128):
    """Hiding needs taller traces: padding rows that send and receive nothing."""
    fill = {"producer": [0, 3, 0], "consumer": [0, 0, 0]}
    return {k: np.vstack([v, np.tile(np.array(fill[k], np.uint32), (rows - v.shape[0], 1))]) for k, v in traces.items()}


def _prove_shared(pk, parts, seed_of=None, check=True):
    rng = np.random.default_rng(7)
    blinds = _blinds(len(parts), rng)
    seeds = [np.random.default_rng(100 + i) for i in range(len(parts))]
    bindings = [stark.commit_binding(pk, p, rng=np.random.default_rng(100 + i), open_totals=b)
                for i, (p, b) in enumerate(zip(parts, blinds))]
    seed = (seed_of or (lambda bs: keccak256(b"".join(bs))))(bindings)
    proofs = []
    for i, (p, b) in enumerate(zip(parts, blinds)):
        def hand_out(binding: bytes, i=i) -> bytes:
            assert binding == bindings[i], "round 1 must be reproducible"
            return seed
        proofs.append(stark.prove(pk, p, rng=seeds[i], open_totals=b, logup_seed=hand_out, check=check))
    return proofs, bindings, seed


def _total(statements):
    total = np.zeros(4, np.uint32)
    for st in statements:
        total = field.ext_add(total, st.open_bus_sums.get("kv", np.zeros(4, np.uint32)))
    return total


def test_parts_balance_only_together():
    pk = stark.setup(_system(), FAST)
    proofs, bindings, seed = _prove_shared(pk, [_pad(p) for p in _parts(exchange_traces())])
    sts = [stark.verify(pk.vk, pr, logup_seed=seed) for pr in proofs]
    assert not np.any(_total(sts))
    assert all(np.any(st.open_bus_sums["kv"]) for st in sts)
    assert all(np.array_equal(st.logup_challenges[0], sts[0].logup_challenges[0]) for st in sts)
    assert [stark.proof_binding(pk.vk, pr.log_heights, pr.publics, pr.main_root) for pr in proofs] == bindings


def test_a_part_verified_under_another_seed_is_rejected():
    pk = stark.setup(_system(), FAST)
    proofs, _, seed = _prove_shared(pk, [_pad(p) for p in _parts(exchange_traces())])
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, proofs[0], logup_seed=keccak256(b"other" + seed))
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, proofs[0])             # not a standalone proof


def test_a_part_that_consumes_a_tuple_never_produced_does_not_balance():
    pk = stark.setup(_system(), FAST)
    parts = [_pad(p) for p in _parts(exchange_traces())]
    row = int(np.nonzero(parts[1]["consumer"][:, 2])[0][0])
    parts[1]["consumer"][row, 1] += 1           # a value the producer never sent
    proofs, _, seed = _prove_shared(pk, parts, check=False)
    sts = [stark.verify(pk.vk, pr, logup_seed=seed) for pr in proofs]
    assert np.any(_total(sts))


def test_open_totals_only_for_open_buses_and_only_when_hiding():
    pk = stark.setup(_system(), FAST)
    with pytest.raises(ValueError, match="not open"):
        stark.commit_binding(pk, _pad(exchange_traces()), open_totals={"nope": np.ones(4, np.uint32)})
    plain = exchange_system()
    plain.open_buses = frozenset({"kv"})
    pk2 = stark.setup(plain, FAST)
    with pytest.raises(ValueError, match="hiding"):
        stark.commit_binding(pk2, exchange_traces(), open_totals={"kv": np.ones(4, np.uint32)})


def test_a_part_goes_on_from_its_kept_round_1_to_the_same_proof():
    """commit_main + prove_committed (what a one-segment run does in its own process) gives
    byte for byte the proof that prove(), committing again, gives; a round 1 is spent once."""
    from prover import proof as stark_bytes
    pk = stark.setup(_system(), FAST)
    part = _pad(_parts(exchange_traces())[0])
    blind = _blinds(2, np.random.default_rng(7))[0]
    seed = keccak256(b"seed")
    again = stark.prove(pk, part, rng=np.random.default_rng(5), open_totals=blind, logup_seed=lambda b: seed)
    round1 = stark.commit_main(pk, part, rng=np.random.default_rng(5), open_totals=blind)
    kept = stark.prove_committed(pk, round1, logup_seed=lambda b: seed)
    assert round1.binding == stark.proof_binding(pk.vk, kept.log_heights, kept.publics, kept.main_root)
    assert stark_bytes.encode(kept, pk.vk.digest, True) == stark_bytes.encode(again, pk.vk.digest, True)
    stark.verify(pk.vk, kept, logup_seed=seed)
    with pytest.raises(ValueError, match="already went into a proof"):
        stark.prove_committed(pk, round1, logup_seed=lambda b: seed)
    other = stark.setup(exchange_system(), FAST)
    with pytest.raises(ValueError, match="another proving key"):
        stark.prove_committed(other, stark.commit_main(pk, part, open_totals=blind))
