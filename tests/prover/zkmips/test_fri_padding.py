"""The padding that keeps FRI's folds few (prover/zkmips/heights.py fri_friendly_heights,
machine.fri_padded): the tables that can move are raised onto heights a fold lands on
anyway, within a budget, and the raised traces still satisfy every constraint and bus."""

from __future__ import annotations

import numpy as np
import pytest

from prover import stark
from prover.fri import fold_schedule
from prover.security import COMPACT
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import heights as H
from prover.zkmips import machine as MC
from prover.zkmips import segments as SG
from tests.prover.zkmips.io_guest import PRIVATE, PUBLIC, build_io_guest

#: A one-segment bench_matmul run's joined proof (N=15, 66,597 cycles): trace log-height,
#: committed width, preprocessed; the CPU pads with its clock running, so it cannot move.
MATMUL = [("program", 18, 13, True), ("memory_global", 18, 39, False), ("image", 18, 13, True),
          ("cpu", 17, 295, False), ("range16", 16, 13, True), ("byte", 16, 28, True), ("add_sub", 15, 49, False),
          ("mem_instr", 14, 51, False), ("syscall_blob", 13, 13, True), ("shift", 13, 63, False),
          ("mul", 13, 109, False), ("bitwise", 13, 44, False), ("lt", 12, 42, False), ("memory", 11, 43, False),
          ("divrem", 11, 95, False), ("bitmanip", 10, 87, False), ("syscall_io", 8, 156, False),
          ("syscall_kernel", 7, 370, False), ("syscall_const", 7, 13, True), ("syscall", 7, 248, False),
          ("private_input", 7, 25, False), ("boundary", 7, 158, False)]


def _shapes(rows=MATMUL) -> list[H.TableShape]:
    return [H.TableShape(name, lh, w, pre, raisable=name != "cpu") for name, lh, w, pre in rows]


def _layers(heights: dict[str, int]) -> tuple[int, int]:
    """(FRI layers, Merkle siblings per query) of a compact proof with these trace heights."""
    lde = {lh + 1 + COMPACT.log_blowup for lh in heights.values()}
    arities, _ = fold_schedule(lde, COMPACT)
    top, siblings = max(lde), 0
    for k in arities:
        siblings += top - k
        top -= k
    return len(arities), siblings


def _targets(shapes: list[H.TableShape]) -> dict[str, int]:
    return H.fri_friendly_heights(shapes, extra=1, max_log_arity=COMPACT.max_log_arity,
                                  final=COMPACT.log_final_poly_len)


def test_the_ladder_steps_by_the_arity_between_stops():
    assert H.fold_ladder([19, 18, 17, 14, 8], 3, 3) == [19, 18, 17, 14, 11, 8, 5]
    assert H.fold_ladder([20], 3, 3) == [20, 17, 14, 11, 8, 5]
    assert H.fold_ladder([10, 9], 1, 7) == [10, 9, 8]


def test_a_matmul_segment_folds_in_six_layers_instead_of_eleven():
    shapes = _shapes()
    before = {s.name: s.log_height for s in shapes}
    after = _targets(shapes)
    assert _layers(before) == (11, 171)
    assert _layers(after) == (6, 91)
    for s in shapes:
        assert after[s.name] >= s.log_height
        if s.preprocessed or not s.raisable:
            assert after[s.name] == s.log_height, f"{s.name} cannot move"
    grown = sum((s.width << after[s.name]) - s.cells for s in shapes)
    assert 0 < grown <= H.PADDING_BUDGET * sum(s.cells for s in shapes)


def test_the_budget_keeps_the_costliest_table_where_it_is():
    """Five tables, none big enough to be fixed outright, would each grow four-fold: past the
    budget. The costliest keeps its height and becomes a stop, and the others then land on it
    without growing."""
    rows = [("pre", 20, 1000, True)] + [(f"t{i}", 15, 1000 - i, False) for i in range(5)]
    shapes = _shapes(rows)
    total = sum(s.cells for s in shapes)
    assert all(s.cells <= H.BIG_TABLE_SHARE * total for s in shapes[1:]), "none is fixed as big"
    assert sum(3 * s.cells for s in shapes[1:]) > H.PADDING_BUDGET * total, "raising all is over budget"
    after = _targets(shapes)
    assert all(after[f"t{i}"] == 15 for i in range(5))


def test_a_table_taller_than_every_stop_stays_and_stops_the_folds():
    shapes = _shapes([("pre", 10, 8, True), ("tall", 14, 8, False), ("small", 9, 8, False)])
    after = _targets(shapes)
    assert after["tall"] == 14 and after["pre"] == 10
    assert after["small"] in (9, 10)


@pytest.fixture(scope="module")
def joined_witness(compile_c):
    """The io guest's whole run, as the joined proof's traces before the padding."""
    elf = build_io_guest(compile_c)
    key = SG.segment_keys(elf, FAST)
    run = SG.plan_segments(key, PUBLIC, PRIVATE, 1 << 12, 1 << 20)
    job = SG.SegmentJob(elf, PUBLIC, PRIVATE, FAST.name, run.segments[0], {}, bytes(32))
    wit, _ = SG._segment_execution(key, job)
    memory = SG.global_memory_traces(key, [job.plan], [(wit.cells["key"], wit.cells["final"])], wit.syscalls)
    return key, {**wit.traces, **memory}, wit.publics


def test_zero_rows_are_padding_for_every_table_that_ends_in_them(joined_witness):
    """Every table whose trace ends in a zero row, raised four-fold by zero rows, still
    satisfies its constraints and every bus (the engine's debug checker): what lets
    fri_padded raise exactly those tables."""
    key, traces, publics = joined_witness
    pre = {i.table.name for i in key.joined_pk.vk.infos if i.table.pre_width}
    raised = {n: np.concatenate([t, np.zeros((3 * t.shape[0], t.shape[1]), t.dtype)])
              for n, t in traces.items() if n not in pre and MC._ends_in_zeros(t)}
    assert {"add_sub", "memory", "memory_global", "private_input", "boundary"} <= set(raised)
    assert "cpu" not in raised, "the CPU's padding rows run its clock on"
    full = MC.with_lookups(key.joined_tables, {**traces, **raised}, publics)
    stark.commit_main(key.joined_pk, full, publics, check=True, rng=np.random.default_rng(1))


def test_fri_padded_raises_only_what_the_policy_says(joined_witness):
    key, traces, _ = joined_witness
    padded = MC.fri_padded(key.joined_pk.vk, traces)
    for name, t in traces.items():
        p = padded[name]
        assert p.shape[0] >= t.shape[0] and np.array_equal(p[:t.shape[0]], t)
        assert not p[t.shape[0]:].any(), "only zero rows are added"
        if not MC._ends_in_zeros(t):
            assert p is t
