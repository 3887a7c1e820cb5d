"""The expression layer and tables: folding, degrees, the three back-ends agreeing, the
debug checker naming the failing constraint and row."""

from __future__ import annotations

import numpy as np
import pytest

from prover import expr as E
from prover import field
from prover.air import ConstraintError, System, Table, check_buses, check_constraints
from tests.prover.stark_examples import exchange_system, exchange_traces, fib_table, fib_trace

RNG = np.random.default_rng(7)


def rand_ext() -> np.ndarray:
    return RNG.integers(0, field.P, 4, dtype=np.uint32)


def test_constant_folding_and_identities():
    a = E.main_col(0)
    assert (E.const(3) + 4).value == 7
    assert (E.const(2) * E.const(field.P - 1)).value == field.P - 2
    assert a + 0 is a and 0 + a is a and a * 1 is a and a - 0 is a
    assert (a * 0).is_const and (a * 0).value == 0
    assert (-(-a)) is a
    assert (a ** 0).is_const and (a ** 3).degree == 3
    with pytest.raises(ValueError):
        a ** -1


def test_degrees_and_types():
    a, b = E.main_col(0), E.main_col(1)
    assert (a * b * a).degree == 3
    assert (E.is_first_row() * (a - 1)).degree == 2
    assert (E.is_transition() * (a.next - a)).degree == 1
    assert (E.public(0) * E.challenge(1)).degree == 0
    assert (a * E.challenge(0)).is_ext and not (a * E.public(0)).is_ext
    assert E.perm_col(0).is_ext


def test_next_shifts_only_columns_and_only_once():
    a = E.main_col(0)
    e = a * E.public(0) + E.pre_col(1)
    assert repr(e.next) == "((main[0]' * public[0]) + pre[1]')"
    with pytest.raises(ValueError):
        a.next.next
    with pytest.raises(ValueError):
        E.is_first_row().next


def test_serialisable_form_round_trips_and_rejects_garbage():
    for cons in (fib_table().constraints, _random_constraints()):
        again = E.from_dict(E.to_dict(cons))
        assert E.canonical_bytes(again) == E.canonical_bytes(cons)
        assert [c.degree for c in again] == [c.degree for c in cons]
    with pytest.raises(ValueError):
        E.from_dict({"nodes": [{"op": "add", "args": [5, 6]}], "constraints": [0]})
    with pytest.raises(ValueError):
        E.from_dict({"nodes": [{"op": "bogus"}], "constraints": [0]})


def _random_constraints() -> list[E.Expr]:
    a, b, c = (E.main_col(i) for i in range(3))
    p0, p1 = E.pre_col(0), E.pre_col(1)
    z = E.perm_col(0)
    return [a.next - a * b * c, E.is_first_row() * (a - E.public(0)), E.is_transition() * (b.next - a - b),
            E.perm_col(1) * (E.challenge(0) - a) - p1 + 3, E.public(1) * 2 - 7,
            E.challenge(1) * p0.next - z.next, E.is_last_row() * (E.ext_public(0) - z),
            5 - a * E.challenge(0), (a - b) * (a - b) ** 2, -(c * E.challenge(1)) + b - z,
            E.ext_const([1, 2, 3, 4]) * a - E.perm_col(1).next * E.ext_const([0, 0, 7, 0])]


def test_compiled_program_matches_numpy_and_point_evaluation():
    """The prover's kernel, the vectorised numpy evaluator and the verifier's
    one-point evaluator are three back-ends of one description: they must agree."""
    n, lde = 512, 1024
    main = RNG.integers(0, field.P, (lde, 3), dtype=np.uint32)
    pre = RNG.integers(0, field.P, (n, 2), dtype=np.uint32)
    perm = RNG.integers(0, field.P, (n, 8), dtype=np.uint32)
    sel = RNG.integers(0, field.P, (3, n), dtype=np.uint32)
    step = 2
    cons = _random_constraints()
    consts = dict(publics=[5, 9], challenges=[rand_ext(), rand_ext()], ext_publics=[rand_ext()])

    def column(kind, i, is_next):
        idx = (np.arange(n) + (step if is_next else 0)) % n
        if kind == E.MAIN:
            return main[idx * 2, i]
        if kind == E.PRE:
            return pre[idx, i]
        return perm[idx][:, 4 * i:4 * i + 4]

    env = E.Env(column, lambda s: sel[E.SELECTORS.index(s)], **consts)
    alpha = rand_ext()
    ref = np.zeros((n, 4), dtype=np.uint32)
    power = field.ext_from_base(np.uint32(1))
    for v, is_ext in E.evaluate(cons, env):
        v = np.broadcast_to(v if is_ext else field.ext_from_base(v), (n, 4))
        ref = field.ext_add(ref, field.ext_mul(v, power))
        power = field.ext_mul(power, alpha)
    program = E.compile_program(cons)
    j = np.arange(n)
    rows = np.stack([j, (j + step) % n])
    inv_zh = np.array([3, 5], dtype=np.uint32)
    out = E.eval_combined(program, env, alpha, n_rows=n, main=E.Source(main, rows * 2), pre=E.Source(pre, rows),
                          perm=E.Source(perm, rows), selectors=sel, inv_zh=inv_zh)
    assert np.array_equal(out, field.ext_mul_base(ref, inv_zh[j // (n // 2)]))
    r = 37

    def col_at(kind, i, is_next):
        v = column(kind, i, is_next)[r]
        return v if kind == E.PERM else field.ext_from_base(v)

    env_r = E.Env(col_at, lambda s: field.ext_from_base(sel[E.SELECTORS.index(s)][r]), **consts)
    assert np.array_equal(E.combine_at_point(cons, env_r, alpha), ref[r])


def test_program_reuses_registers():
    a = E.main_col(0)
    cons = [a * E.main_col(i) - E.main_col(i + 1) for i in range(1, 40)]
    program = E.compile_program(cons)
    assert program.num_base_slots <= 4


def test_debug_checker_names_constraint_and_row():
    t = fib_table()
    tr, pub = fib_trace(16)
    check_constraints(t, tr, pub)
    bad = tr.copy()
    bad[5, 1] += 1
    with pytest.raises(ConstraintError, match=r"constraint 2 .* fails at row 5"):
        check_constraints(t, bad, pub)
    with pytest.raises(ConstraintError, match="constraint 0"):
        check_constraints(t, tr, [2, 1, pub[2]])


def test_table_declarations_are_checked():
    t = Table("t")
    a = t.main("a")
    with pytest.raises(ValueError):
        t.main("a")
    with pytest.raises(ValueError):
        t.assert_zero(E.const(3))
    with pytest.raises(ValueError):
        t.send("bus", [a.next])
    with pytest.raises(ValueError):
        t.assert_zero(a * E.challenge(0))
    with pytest.raises(ValueError):
        check_constraints(t, np.zeros((6, 1), dtype=np.uint32))  # not a power of two
    with pytest.raises(ValueError):
        System([Table("x"), Table("x")])


def test_bus_checker_finds_unbalanced_tuple():
    system = exchange_system()
    traces = exchange_traces()
    check_buses(system, traces)
    traces["producer"][2, 2] += 1
    with pytest.raises(ConstraintError, match="kv"):
        check_buses(system, traces)


def test_bus_tuples_must_share_one_arity():
    a, b = Table("a"), Table("b")
    x = a.main("x")
    y, z = b.mains("y", "z")
    a.send("bus", [x])
    b.receive("bus", [y, z])
    with pytest.raises(ValueError, match="lengths 1 and 2"):
        System([a, b]).check_buses_arity()


def test_fraction_sums_match_numpy_and_report_a_zero_denominator():
    """eval_fraction_sums (the LogUp helper columns) against numpy: group sums of
    numerator / denominator, over a ragged last block; other columns are left alone."""
    n = 300
    main = RNG.integers(0, field.P, (n, 3), dtype=np.uint32)
    pre = RNG.integers(0, field.P, (n, 1), dtype=np.uint32)
    sel = RNG.integers(0, field.P, (3, n), dtype=np.uint32)
    a, b, c = (E.main_col(i) for i in range(3))
    dens = [E.challenge(0) - a - E.challenge(1) * b, E.challenge(0) - E.pre_col(0) * E.challenge(1) + c,
            a - E.ext_const([5, 0, 0, 0]), E.challenge(1) + E.public(0)]
    nums = [a, b * c - E.is_first_row(), E.const(3), E.public(0) * a]
    groups = [0, 1, 0, 2]
    env = E.Env(lambda kind, i, nxt: (main if kind == E.MAIN else pre)[:, i], lambda s: sel[E.SELECTORS.index(s)],
                publics=[7], challenges=[rand_ext(), rand_ext()])
    expect = np.zeros((n, 12), dtype=np.uint32)
    for (d, _), (m, _), g in zip(E.evaluate(dens, env), E.evaluate(nums, env), groups):
        term = field.ext_mul_base(field.ext_inv(np.broadcast_to(d, (n, 4))), np.broadcast_to(m, (n,)))
        expect[:, 4 * g:4 * g + 4] = field.ext_add(expect[:, 4 * g:4 * g + 4], term)
    program = E.compile_fractions(dens, nums)
    rows = np.stack([np.arange(n), np.zeros(n, dtype=np.int64)])
    out = np.full((n, 13), 99, dtype=np.uint32)
    src = dict(n_rows=n, main=E.Source(main, rows), pre=E.Source(pre, rows), selectors=sel)
    assert E.eval_fraction_sums(program, env, groups, out, **src)
    assert np.array_equal(out[:, :12], expect) and (out[:, 12] == 99).all()
    main[257, 0] = 5  # the third denominator vanishes on one row of the last block
    assert not E.eval_fraction_sums(program, env, groups, out, **src)
    with pytest.raises(ValueError):
        E.compile_fractions([a], [a])  # denominators must be extension values
    with pytest.raises(ValueError):
        E.eval_fraction_sums(program, env, groups[:2], out, **src)
    with pytest.raises(ValueError):
        E.eval_combined(program, env, rand_ext(), n_rows=n)
