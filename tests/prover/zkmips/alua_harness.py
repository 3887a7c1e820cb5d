"""Forgery helpers for the ALU-A tables (add_sub, bitwise, lt), on top of alub_harness.

Why: a forged witness that the verifier rejects proves little if it is rejected for the
wrong reason (a typo that breaks another constraint). :func:`forge_rejected` first asks
the debug checker *what* fails and requires it to match the constraint under test, then
proves with the checker off and requires the verifier to reject.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

import numpy as np
import pytest

from prover.air import ConstraintError, Table, check_buses, check_constraints
from tests.prover.zkmips.alub_harness import RD, RS, RT, Prover, edge_pairs, run_one, set_cell
from tests.vm.mips_asm import encode
from vm.isa import OP

Edit = tuple[int, str, int]  # (row, column, value)


def what_fails(prover: Prover, forged: Mapping[str, np.ndarray], honest: Mapping[str, np.ndarray]) -> str:
    """The debug checker's message for the witness :meth:`Prover.rejects` would prove
    (empty if everything holds)."""
    try:
        full = prover.full_traces(forged)
    except ValueError:
        full = {**prover.full_traces(honest), **forged}
    try:
        for t in prover.system.tables:
            check_constraints(t, full[t.name])
        check_buses(prover.system, full)
    except ConstraintError as e:
        return str(e)
    return ""


def edited(traces: Mapping[str, np.ndarray], tables: Iterable[Table],
           edits: Mapping[str, Iterable[Edit]]) -> dict[str, np.ndarray]:
    """A copy of ``traces`` with cells changed, per table name."""
    by_name = {t.name: t for t in tables}
    out = dict(traces)
    for name, cells in edits.items():
        for row, col, value in cells:
            out[name] = set_cell(out[name], by_name[name], row, col, value)
    return out


def forge_rejected(prover: Prover, honest: Mapping[str, np.ndarray], reason: str,
                   forged: Mapping[str, np.ndarray] | None = None, **edits: Iterable[Edit]) -> None:
    """``forged`` (or ``honest`` with ``edits``: table name -> [(row, column, value)]) must
    fail the debug checker with a message matching the regex ``reason``, and its proof
    (made without the checker) must not verify."""
    if forged is None:
        forged = edited(honest, prover.tables, edits)
    message = what_fails(prover, forged, honest)
    assert re.search(reason, message), f"forgery fails for another reason: {message!r}"
    prover.rejects(forged, honest)


def constraint_of(table: Table, column: str) -> str:
    """A regex for "table T: constraint i ..." where constraint i reads main column
    ``column`` (so a test names the constraint it breaks by a column in it)."""
    leaf = f"main[{table.main_names.index(column)}]"
    hits = [i for i, c in enumerate(table.constraints) if leaf in repr(c)]
    if not hits:
        pytest.fail(f"no constraint of {table.name} reads {column!r}")
    return rf"table {table.name}: constraint ({'|'.join(map(str, hits))}) "


#: The debug checker's message for an unbalanced bus.
def unbalanced(bus: str) -> str:
    return rf"bus '{bus}' unbalanced"


EDGE_BYTES = np.array([0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF])


def limb_edge_pairs(rng: np.random.Generator, n: int) -> list[tuple[int, int]]:
    """``n`` pairs of words whose every byte is an edge byte (0, 1, 0x7f, 0x80, 0xfe, 0xff):
    they hit every carry/borrow pattern between the limbs and the sign boundary."""
    limbs = rng.choice(EDGE_BYTES, size=(n, 2, 4)).astype(np.int64)
    words = (limbs << (8 * np.arange(4))).sum(axis=2)
    return [(int(a), int(b)) for a, b in words]


def sweep_pairs(seed: int = 2024) -> list[tuple[int, int]]:
    """The operand pairs of every ALU table's large sweep: 500 random words with edge
    values, then 1000 words made of edge bytes."""
    rng = np.random.default_rng(seed)
    return edge_pairs(rng, 500) + limb_edge_pairs(rng, 1000)


def register_op_events(pairs, mnemonics) -> dict[str, np.ndarray]:
    """``alu`` events of every register-form ``mnemonic`` on every ``(rs, rt)`` pair, with the
    result computed by executing the instruction on the VM (the oracle)."""
    ev: dict[str, list[int]] = {"op": [], "a": [], "b": [], "c": []}
    for mn in mnemonics:
        word = encode(mn, RD, RS, RT)
        for a, b in pairs:
            for key, v in zip(("op", "a", "b", "c"), (OP[mn], a, b, run_one(word, rs=a, rt=b).get_reg(RD))):
                ev[key].append(v)
    return {k: np.array(v, dtype=np.int64) for k, v in ev.items()}
