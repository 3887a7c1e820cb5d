"""A small synthetic memory scenario shared by the memory tests: an image with edge keys
and values, a random honest history over it, and the "forged witness is rejected" check."""

from __future__ import annotations

import numpy as np
import pytest

from prover import stark
from prover.air import ConstraintError, System, bus_tally, check_buses, check_constraints
from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import memory as M
from prover.zkmips.spec import REGISTER_KEY_BASE
from tests.prover.zkmips import memory_driver as D
from vm.layout import PC

EDGES = (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
REG = REGISTER_KEY_BASE
IMAGE = M.MemoryImage(
    np.array([1, 3, 0xFFFF, 70000, 1 << 29, REG + 29, REG + PC, M.KEY_LIMIT - 1]),
    np.array([0x11223344, 0xFFFFFFFF, 0x80000000, 1, 0x7FFFFFFF, 0x407FFF00, 0x00400000, 0xDEADBEEF]))
# Keys crossing a 2^16 boundary, the register space, both ends of the key range, image
# cells and fresh ones.
KEY_POOL = np.array([0, 1, 3, 4, 0xFFFF, 0x10000, 70000, (1 << 30) - 1, REG, REG + 2, REG + 29,
                     REG + 33, REG + PC, M.KEY_LIMIT - 1])


def random_history(seed: int = 7, n: int = 300) -> tuple[np.ndarray, ...]:
    """Accesses in time order; a read returns what the cell holds (the definition of
    memory), a write stores an edge or random word. Timestamps mostly advance by 1..3,
    with a few jumps above 2^16 so the gap's high byte is exercised."""
    rng = np.random.default_rng(seed)
    cell = dict(zip(IMAGE.keys.tolist(), IMAGE.values.tolist()))
    keys = rng.choice(KEY_POOL, n)
    steps = rng.integers(1, 4, n)
    steps[rng.random(n) < 0.02] = 70000
    ts = np.cumsum(steps)
    writes = rng.random(n) < 0.5
    values = np.empty(n, np.int64)
    for i, (k, w) in enumerate(zip(keys.tolist(), writes.tolist())):
        if w:
            cell[k] = int(rng.choice(EDGES)) if rng.random() < 0.4 else int(rng.integers(0, 1 << 32))
        values[i] = cell.get(k, 0)
    return keys, ts, values, writes


def scenario() -> tuple[System, stark.ProvingKey, M.MemoryEvents]:
    system = D.memory_system(IMAGE)
    return system, stark.setup(system, FAST), M.access_events(*random_history(), IMAGE)


def unbalanced_buses(system: System, traces: dict[str, np.ndarray]) -> set[str]:
    """The closed buses that do not balance over ``traces`` (the debug checker names only
    the first)."""
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for t in system.tables:
        for bus, part in bus_tally(t, traces[t.name], D.PUBLICS.get(t.name, ())).items():
            parts.setdefault(bus, []).append(part)
    bad = set()
    for bus, items in parts.items():
        keys = np.concatenate([k for k, _ in items])
        mults = np.concatenate([m for _, m in items])
        if bus in system.open_buses or not len(mults):
            continue
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        net = np.zeros(len(uniq), dtype=np.int64)
        np.add.at(net, inverse.reshape(-1), mults)
        if net.any():
            bad.add(bus)
    return bad


def rejected(system: System, pk: stark.ProvingKey, traces: dict[str, np.ndarray], by: str) -> None:
    """The debug checker names ``by`` ("constraint" or a bus name; a bus must then be the
    only one off), and the verifier refuses the proof built without the checker."""
    if by != "constraint":
        assert unbalanced_buses(system, traces) == {by}
    with pytest.raises(ConstraintError) as err:
        for t in system.tables:
            check_constraints(t, traces[t.name], D.PUBLICS.get(t.name, ()))
        check_buses(system, traces, D.PUBLICS)
    assert (f"bus {by!r}" if by != "constraint" else "constraint") in str(err.value), str(err.value)
    proof = stark.prove(pk, traces, D.PUBLICS, check=False)
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, proof, D.PUBLICS)


def verified(pk: stark.ProvingKey, traces: dict[str, np.ndarray]) -> stark.Statement:
    """Prove ``traces`` (the debug checker on) and verify the proof."""
    return stark.verify(pk.vk, stark.prove(pk, traces, D.PUBLICS), D.PUBLICS)


def copy_events(events: M.MemoryEvents) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return ({k: v.copy() for k, v in events.accesses.items()}, {k: v.copy() for k, v in events.cells.items()})


def history_of(acc: dict[str, np.ndarray], key: int) -> np.ndarray:
    """Indices of ``key``'s accesses in time order."""
    idx = np.nonzero(acc["key"] == key)[0]
    return idx[np.argsort(acc["ts"][idx])]
