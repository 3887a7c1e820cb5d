"""Symbolic AIR expressions: one description of a constraint, several back-ends.

A table's constraints are written once as expression trees over

* ``main`` / ``pre`` columns (base field) of the current or the next row,
* ``perm`` columns (extension field: the LogUp helper and running-sum columns),
* public values (base), challenges, exposed values and constants of the extension,
* the selectors ``is_first_row``, ``is_last_row``, ``is_transition``,
* constants, combined with ``+``, ``-``, ``*`` and integer powers.

Why one layer: the prover's evaluation over the quotient domain, the verifier's
evaluation at the out-of-domain point, the degree bound that sizes the quotient,
and (later) the EVM verifier's code must all agree on the same polynomial; deriving
all of them from one tree makes disagreement impossible rather than merely tested.

Back-ends in this module:

* :func:`evaluate` - vectorised numpy over whole columns; the verifier calls it with
  one row of opened extension values, the debug checker with a whole trace;
* :func:`compile_program` + :func:`eval_combined` - a flat register program run by
  one cached numba interpreter over blocks of rows (the prover's hot path: a single
  compiled kernel serves every AIR, so there is no per-AIR JIT latency); the same
  interpreter runs :func:`compile_fractions` programs for :func:`eval_fraction_sums`
  (the LogUp helper columns);
* :func:`to_dict` / :func:`from_dict` / :func:`canonical_bytes` - a serialisable DAG,
  hashed into verifying keys and later translated into EVM code.

Degrees are counted in multiples of the trace length: a column and the first/last-row
selectors count 1, ``is_transition`` (the linear ``x - omega^-1``) counts 0, as in
Plonky3's symbolic builder.  ``is_first_row`` / ``is_last_row`` are the Lagrange
polynomials of the first and last row (1 there, 0 elsewhere on the trace domain), so
they may scale values as well as gate constraints; ``is_transition`` is
``x - omega^-1``, non-zero exactly off the last row (use it only as a gate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np
from numba import njit, prange

from prover import field
from prover.field import P

# Leaf kinds and their value types.
MAIN, PRE, PERM = "main", "pre", "perm"
PUBLIC, CHALLENGE, EXT_PUBLIC = "public", "challenge", "ext_public"
FIRST, LAST, TRANSITION = "is_first_row", "is_last_row", "is_transition"
CONST, EXT_CONST = "const", "ext_const"
ADD, SUB, MUL, NEG = "add", "sub", "mul", "neg"

COLUMN_KINDS = (MAIN, PRE, PERM)
SELECTORS = (FIRST, LAST, TRANSITION)
_EXT_LEAVES = frozenset({PERM, CHALLENGE, EXT_PUBLIC, EXT_CONST})
_ROW_LEAVES = frozenset({MAIN, PRE, PERM, FIRST, LAST, TRANSITION})
_BINARY = (ADD, SUB, MUL)


class Expr:
    """An immutable node of an expression DAG.

    ``op`` is a leaf kind or an operator; ``data`` holds a leaf's parameters
    (``(index, is_next)`` for columns, ``(index,)`` for public values and challenges,
    ``(value,)`` for constants); ``args`` holds an operator's operands.
    Nodes are compared structurally only by :attr:`key` (``==`` is left as identity so
    that expressions stay hashable and can key dictionaries).
    """

    __slots__ = ("op", "data", "args", "degree", "is_ext", "_key")

    def __init__(self, op: str, data: tuple = (), args: tuple["Expr", ...] = ()):
        self.op = op
        self.data = data
        self.args = args
        self._key: tuple | None = None
        if op in _ROW_LEAVES:
            self.degree = 0 if op == TRANSITION else 1
        elif args:
            if op == MUL:
                self.degree = args[0].degree + args[1].degree
            else:
                self.degree = max(a.degree for a in args)
        else:
            self.degree = 0
        self.is_ext = op in _EXT_LEAVES or any(a.is_ext for a in args)

    # -- structure ---------------------------------------------------------------------
    @property
    def key(self) -> tuple:
        """Structural identity (used for common-subexpression elimination)."""
        if self._key is None:
            self._key = (self.op, self.data, tuple(a.key for a in self.args))
        return self._key

    @property
    def is_const(self) -> bool:
        return self.op == CONST

    @property
    def value(self) -> int:
        if self.op != CONST:
            raise ValueError(f"{self.op} node has no constant value")
        return self.data[0]

    @property
    def next(self) -> "Expr":
        """The same expression one row later (only column leaves move)."""
        return shift_next(self)

    def __repr__(self) -> str:
        return to_string(self)

    # -- arithmetic with folding -------------------------------------------------------
    def __add__(self, other: "ExprLike") -> "Expr":
        return add(self, other)

    def __radd__(self, other: "ExprLike") -> "Expr":
        return add(other, self)

    def __sub__(self, other: "ExprLike") -> "Expr":
        return sub(self, other)

    def __rsub__(self, other: "ExprLike") -> "Expr":
        return sub(other, self)

    def __mul__(self, other: "ExprLike") -> "Expr":
        return mul(self, other)

    def __rmul__(self, other: "ExprLike") -> "Expr":
        return mul(other, self)

    def __neg__(self) -> "Expr":
        return neg(self)

    def __pow__(self, e: int) -> "Expr":
        if not isinstance(e, int) or e < 0:
            raise ValueError("expressions support only non-negative integer powers")
        result: Expr = const(1)
        for _ in range(e):
            result = result * self
        return result


ExprLike = Expr | int


def const(v: int) -> Expr:
    return Expr(CONST, (int(v) % P,))


def ext_const(coeffs: Sequence[int]) -> Expr:
    """An extension constant (coefficients of 1, X, X^2, X^3); ``ext_const([0, 1, 0, 0])``
    is X, used to assemble an extension value from four base columns."""
    if len(coeffs) != 4:
        raise ValueError("an extension constant has 4 coefficients")
    return Expr(EXT_CONST, tuple(int(c) % P for c in coeffs))


def lift(x: ExprLike) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, np.integer)):
        return const(int(x))
    raise TypeError(f"cannot use {type(x).__name__} in an AIR expression")


def add(a: ExprLike, b: ExprLike) -> Expr:
    a, b = lift(a), lift(b)
    if a.is_const and b.is_const:
        return const(a.value + b.value)
    if a.is_const and a.value == 0:
        return b
    if b.is_const and b.value == 0:
        return a
    return Expr(ADD, (), (a, b))


def sub(a: ExprLike, b: ExprLike) -> Expr:
    a, b = lift(a), lift(b)
    if a.is_const and b.is_const:
        return const(a.value - b.value)
    if b.is_const and b.value == 0:
        return a
    if a.is_const and a.value == 0:
        return neg(b)
    return Expr(SUB, (), (a, b))


def mul(a: ExprLike, b: ExprLike) -> Expr:
    a, b = lift(a), lift(b)
    if a.is_const and b.is_const:
        return const(a.value * b.value)
    for x, y in ((a, b), (b, a)):
        if x.is_const:
            if x.value == 0:
                return const(0)
            if x.value == 1:
                return y
            if x.value == P - 1:
                return neg(y)
    return Expr(MUL, (), (a, b))


def neg(a: ExprLike) -> Expr:
    a = lift(a)
    if a.is_const:
        return const(-a.value)
    if a.op == NEG:
        return a.args[0]
    return Expr(NEG, (), (a,))


# -- leaves -----------------------------------------------------------------------------
def main_col(i: int, is_next: bool = False) -> Expr:
    return Expr(MAIN, (int(i), bool(is_next)))


def pre_col(i: int, is_next: bool = False) -> Expr:
    return Expr(PRE, (int(i), bool(is_next)))


def perm_col(i: int, is_next: bool = False) -> Expr:
    """Extension-valued permutation column ``i`` (occupies base columns 4i..4i+3)."""
    return Expr(PERM, (int(i), bool(is_next)))


def public(i: int) -> Expr:
    return Expr(PUBLIC, (int(i),))


def challenge(i: int) -> Expr:
    return Expr(CHALLENGE, (int(i),))


def ext_public(i: int) -> Expr:
    """An extension value the proof exposes (e.g. a LogUp final sum)."""
    return Expr(EXT_PUBLIC, (int(i),))


def is_first_row() -> Expr:
    return Expr(FIRST)


def is_last_row() -> Expr:
    return Expr(LAST)


def is_transition() -> Expr:
    return Expr(TRANSITION)


def shift_next(e: Expr) -> Expr:
    """Rewrite current-row column reads as next-row reads; next-of-next is an error."""
    memo: dict[int, Expr] = {}

    def go(x: Expr) -> Expr:
        got = memo.get(id(x))
        if got is not None:
            return got
        if x.op in COLUMN_KINDS:
            if x.data[1]:
                raise ValueError("an AIR constraint can only reach one row ahead")
            out = Expr(x.op, (x.data[0], True))
        elif x.op in SELECTORS:
            raise ValueError("selectors cannot be shifted to the next row")
        elif x.args:
            out = Expr(x.op, (), tuple(go(a) for a in x.args))
        else:
            out = x
        memo[id(x)] = out
        return out

    return go(e)


# -- traversal --------------------------------------------------------------------------
def topo_order(roots: Sequence[Expr]) -> tuple[list[Expr], list[int]]:
    """Unique nodes (by structure) in dependency order, and each root's position.

    Iterative so that deep chains (long sums) do not hit Python's recursion limit.
    """
    index: dict[tuple, int] = {}
    order: list[Expr] = []
    for root in roots:
        stack: list[tuple[Expr, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            k = node.key
            if k in index:
                continue
            if expanded or not node.args:
                index[k] = len(order)
                order.append(node)
            else:
                stack.append((node, True))
                for a in reversed(node.args):
                    if a.key not in index:
                        stack.append((a, False))
    return order, [index[r.key] for r in roots]


def to_string(e: Expr) -> str:
    if e.op == CONST:
        v = e.value
        return str(v - P) if v > P // 2 else str(v)
    if e.op in COLUMN_KINDS:
        return f"{e.op}[{e.data[0]}]{chr(39) if e.data[1] else ''}"
    if e.op in (PUBLIC, CHALLENGE, EXT_PUBLIC):
        return f"{e.op}[{e.data[0]}]"
    if e.op == EXT_CONST:
        return f"ext{list(e.data)}"
    if e.op in SELECTORS:
        return e.op
    if e.op == NEG:
        return f"-({to_string(e.args[0])})"
    sym = {ADD: "+", SUB: "-", MUL: "*"}[e.op]
    return f"({to_string(e.args[0])} {sym} {to_string(e.args[1])})"


def max_degree(constraints: Iterable[Expr]) -> int:
    return max((c.degree for c in constraints), default=0)


# -- back-end 3: serialisable form -------------------------------------------------------
def to_dict(constraints: Sequence[Expr]) -> dict:
    """A JSON-ready DAG: ``nodes`` in dependency order (operators refer to earlier nodes
    by index) and ``constraints`` as node indices.  This is the form hashed into the
    verifying key and translated into EVM verifier code."""
    order, roots = topo_order(constraints)
    pos = {n.key: i for i, n in enumerate(order)}
    nodes = []
    for n in order:
        entry: dict = {"op": n.op}
        if n.op in COLUMN_KINDS:
            entry["index"], entry["next"] = n.data
        elif n.op in (PUBLIC, CHALLENGE, EXT_PUBLIC):
            entry["index"] = n.data[0]
        elif n.op == CONST:
            entry["value"] = n.data[0]
        elif n.op == EXT_CONST:
            entry["value"] = list(n.data)
        if n.args:
            entry["args"] = [pos[a.key] for a in n.args]
        nodes.append(entry)
    return {"nodes": nodes, "constraints": roots}


def from_dict(d: dict) -> list[Expr]:
    """Inverse of :func:`to_dict`; raises ValueError on malformed input."""
    try:
        built: list[Expr] = []
        for entry in d["nodes"]:
            op = entry["op"]
            args = tuple(built[i] for i in entry.get("args", ()))
            if any(i >= len(built) or i < 0 for i in entry.get("args", ())):
                raise ValueError("forward reference")
            if op in COLUMN_KINDS:
                node = Expr(op, (int(entry["index"]), bool(entry["next"])))
            elif op in (PUBLIC, CHALLENGE, EXT_PUBLIC):
                node = Expr(op, (int(entry["index"]),))
            elif op == CONST:
                node = const(int(entry["value"]))
            elif op == EXT_CONST:
                node = ext_const([int(c) for c in entry["value"]])
            elif op in SELECTORS:
                node = Expr(op)
            elif op in _BINARY and len(args) == 2 or op == NEG and len(args) == 1:
                node = Expr(op, (), args)
            else:
                raise ValueError(f"unknown node {op!r}")
            built.append(node)
        return [built[i] for i in d["constraints"]]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"malformed expression DAG: {exc}") from None


def canonical_bytes(constraints: Sequence[Expr]) -> bytes:
    return json.dumps(to_dict(constraints), sort_keys=True, separators=(",", ":")).encode()


# -- back-end 1/2: vectorised numpy evaluation ------------------------------------------
@dataclass
class Env:
    """Values of the leaves for one evaluation.

    ``column(kind, index, is_next)`` returns a base array ``[N]`` or an extension array
    ``[N, 4]``; ``selector(kind)`` likewise; ``publics`` are base ints, ``challenges`` and
    ``ext_publics`` are ``uint32[4]`` each.  Base and extension values mix freely: the
    evaluator promotes when one side is an extension element, so the verifier passes
    opened (extension) values where the prover passes base columns.
    """

    column: Callable[[str, int, bool], np.ndarray]
    selector: Callable[[str], np.ndarray]
    publics: Sequence[int] = ()
    challenges: Sequence[np.ndarray] = ()
    ext_publics: Sequence[np.ndarray] = ()


class _Val:
    """A value with its field tag (the shape alone is ambiguous for N == 4)."""

    __slots__ = ("a", "ext")

    def __init__(self, a: np.ndarray, ext: bool):
        self.a = a
        self.ext = ext

    def as_ext(self) -> np.ndarray:
        return self.a if self.ext else field.ext_from_base(self.a)


def _binop(op: str, x: _Val, y: _Val) -> _Val:
    if not x.ext and not y.ext:
        f = {ADD: field.add, SUB: field.sub, MUL: field.mul}[op]
        return _Val(f(x.a, y.a), False)
    if op == MUL and x.ext != y.ext:
        e, b = (x, y) if x.ext else (y, x)
        return _Val(field.ext_mul_base(e.a, b.a), True)
    f = {ADD: field.ext_add, SUB: field.ext_sub, MUL: field.ext_mul}[op]
    return _Val(f(x.as_ext(), y.as_ext()), True)


def evaluate(constraints: Sequence[Expr], env: Env, ext_columns: bool = False) -> list[tuple[np.ndarray, bool]]:
    """Evaluate every constraint; returns ``(values, is_ext)`` per constraint, values being
    base ``[N]`` or extension ``[N, 4]`` (0-d / ``[4]`` for row-independent constraints).
    ``ext_columns`` says that ``env.column`` and ``env.selector`` return extension values
    (the verifier's out-of-domain evaluation)."""
    order, roots, args = _plan(constraints)
    vals: list[_Val] = []
    for n, ai in zip(order, args):
        op = n.op
        if op in COLUMN_KINDS:
            vals.append(_Val(np.asarray(env.column(op, *n.data), dtype=np.uint32), ext_columns or op == PERM))
        elif op in SELECTORS:
            vals.append(_Val(np.asarray(env.selector(op), dtype=np.uint32), ext_columns))
        elif op == CONST:
            vals.append(_Val(np.uint32(n.value), False))
        elif op == PUBLIC:
            vals.append(_Val(np.uint32(env.publics[n.data[0]]), False))
        elif op == CHALLENGE:
            vals.append(_Val(np.asarray(env.challenges[n.data[0]], dtype=np.uint32), True))
        elif op == EXT_PUBLIC:
            vals.append(_Val(np.asarray(env.ext_publics[n.data[0]], dtype=np.uint32), True))
        elif op == EXT_CONST:
            vals.append(_Val(np.array(n.data, dtype=np.uint32), True))
        elif op == NEG:
            x = vals[ai[0]]
            vals.append(_Val(field.ext_neg(x.a) if x.ext else field.neg(x.a), x.ext))
        else:
            vals.append(_binop(op, vals[ai[0]], vals[ai[1]]))
    return [(vals[r].a, vals[r].ext) for r in roots]


# -- the verifier's out-of-domain evaluation: scalars as Python ints --------------------
# At one point every value is one extension element; numpy's per-call overhead on
# 4-element arrays would dominate, so the verifier folds the constraints with ints.
_Scalar = "int | tuple[int, int, int, int]"
_PLANS: dict[tuple[int, ...], tuple] = {}


def _plan(constraints: Sequence[Expr]) -> tuple[list[Expr], list[int], list[tuple[int, ...]]]:
    """topo_order of ``constraints`` with each node's argument positions, cached per
    constraint list (a verifier checks many proofs of the same tables)."""
    key = tuple(map(id, constraints))
    hit = _PLANS.get(key)
    if hit is None or len(hit[0]) != len(constraints) or any(a is not b for a, b in zip(hit[0], constraints)):
        order, roots = topo_order(constraints)
        pos = {n.key: i for i, n in enumerate(order)}
        hit = (tuple(constraints), order, roots, [tuple(pos[a.key] for a in n.args) for n in order])
        if len(_PLANS) >= 256:
            _PLANS.clear()
        _PLANS[key] = hit
    return hit[1], hit[2], hit[3]


def _xe(v) -> tuple[int, int, int, int]:
    """An extension scalar from a uint32[4] (or [1, 4]) array."""
    a = np.asarray(v).reshape(-1)
    return (int(a[0]), int(a[1]), int(a[2]), int(a[3]))


def _xadd(x, y):
    if isinstance(x, int) and isinstance(y, int):
        return (x + y) % P
    if isinstance(x, int):
        x, y = y, x
    if isinstance(y, int):
        return ((x[0] + y) % P, x[1], x[2], x[3])
    return ((x[0] + y[0]) % P, (x[1] + y[1]) % P, (x[2] + y[2]) % P, (x[3] + y[3]) % P)


def _xneg(x):
    if isinstance(x, int):
        return -x % P
    return (-x[0] % P, -x[1] % P, -x[2] % P, -x[3] % P)


def _xmul(x, y):
    if isinstance(x, int) and isinstance(y, int):
        return x * y % P
    if isinstance(x, int):
        x, y = y, x
    if isinstance(y, int):
        return (x[0] * y % P, x[1] * y % P, x[2] * y % P, x[3] * y % P)
    a0, a1, a2, a3 = x
    b0, b1, b2, b3 = y
    w = field.W
    return ((a0 * b0 + w * (a1 * b3 + a2 * b2 + a3 * b1)) % P,
            (a0 * b1 + a1 * b0 + w * (a2 * b3 + a3 * b2)) % P,
            (a0 * b2 + a1 * b1 + a2 * b0 + w * a3 * b3) % P,
            (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % P)


def combine_at_point(constraints: Sequence[Expr], env: Env, alpha: np.ndarray) -> np.ndarray:
    """The verifier's folded constraint value ``sum_i alpha^i * C_i`` at one point, with
    every column and selector given as an extension ``[4]`` (or ``[1, 4]``) value.
    The same values as :func:`evaluate` with ``ext_columns=True``, in exact integers."""
    order, roots, args = _plan(constraints)
    vals: list = []
    for n, ai in zip(order, args):
        op = n.op
        if op in COLUMN_KINDS:
            vals.append(_xe(env.column(op, *n.data)))
        elif op in SELECTORS:
            vals.append(_xe(env.selector(op)))
        elif op == CONST:
            vals.append(int(n.value) % P)
        elif op == PUBLIC:
            vals.append(int(env.publics[n.data[0]]) % P)
        elif op == CHALLENGE:
            vals.append(_xe(env.challenges[n.data[0]]))
        elif op == EXT_PUBLIC:
            vals.append(_xe(env.ext_publics[n.data[0]]))
        elif op == EXT_CONST:
            vals.append(tuple(int(v) % P for v in n.data))
        elif op == NEG:
            vals.append(_xneg(vals[ai[0]]))
        elif op == ADD:
            vals.append(_xadd(vals[ai[0]], vals[ai[1]]))
        elif op == SUB:
            vals.append(_xadd(vals[ai[0]], _xneg(vals[ai[1]])))
        else:
            vals.append(_xmul(vals[ai[0]], vals[ai[1]]))
    a = _xe(alpha)
    acc, power = 0, 1
    for r in roots:
        acc = _xadd(acc, _xmul(power, vals[r]))
        power = _xmul(power, a)
    acc = (acc, 0, 0, 0) if isinstance(acc, int) else acc
    return np.array(acc, dtype=np.uint32)


# -- back-end 1 (fast): a register program run by one numba interpreter ------------------
# Opcodes.  ``b`` slots hold base values, ``e`` slots extension values (4 coefficients).
_OP_LOAD_BASE, _OP_LOAD_PERM, _OP_LOAD_SEL, _OP_CONST_B, _OP_CONST_E = 0, 1, 2, 3, 4
_OP_ADD_BB, _OP_SUB_BB, _OP_MUL_BB, _OP_NEG_B = 5, 6, 7, 8
_OP_ADD_EE, _OP_SUB_EE, _OP_MUL_EE, _OP_NEG_E = 9, 10, 11, 12
_OP_ADD_EB, _OP_SUB_EB, _OP_SUB_BE, _OP_MUL_EB = 13, 14, 15, 16
_OP_ACC_B, _OP_ACC_E = 17, 18
_OP_STORE_B, _OP_STORE_E = 19, 20
_BLOCK_ROWS = 128


@dataclass(frozen=True)
class Program:
    """Constraints compiled to straight-line code over block registers.

    ``ops`` rows are ``(opcode, dst, a, b, c)``; row-independent subexpressions
    (publics, challenges, their combinations) are hoisted into ``const_base`` /
    ``const_ext`` and evaluated once per proof by :meth:`bind_constants`.

    A :func:`compile_fractions` program has ``num_fractions`` > 0: its roots are
    stored (STORE ops) as the denominators and numerators of fractions instead of
    being combined.
    """

    ops: np.ndarray
    num_base_slots: int
    num_ext_slots: int
    const_base: tuple[Expr, ...]
    const_ext: tuple[Expr, ...]
    num_constraints: int
    uses_selectors: tuple[bool, bool, bool]
    num_fractions: int = 0

    def bind_constants(self, env: Env) -> tuple[np.ndarray, np.ndarray]:
        """Values of the hoisted constants: ``uint64[max(nb, 1)]`` and ``uint64[max(ne, 1), 4]``
        (never empty, so the kernel's argument types stay fixed)."""
        cb = np.zeros(max(len(self.const_base), 1), dtype=np.uint64)
        ce = np.zeros((max(len(self.const_ext), 1), 4), dtype=np.uint64)
        for i, (v, _) in enumerate(evaluate(self.const_base, env)):
            cb[i] = np.asarray(v, dtype=np.uint64).reshape(-1)[0]
        for i, (v, is_ext) in enumerate(evaluate(self.const_ext, env)):
            ce[i] = np.asarray(v if is_ext else field.ext_from_base(v), dtype=np.uint64).reshape(-1)[:4]
        return cb, ce


def _row_dependent(order: list[Expr]) -> dict[tuple, bool]:
    dep: dict[tuple, bool] = {}
    for n in order:
        dep[n.key] = n.op in _ROW_LEAVES or any(dep[a.key] for a in n.args)
    return dep


def compile_program(constraints: Sequence[Expr]) -> Program:
    """Compile constraints into a :class:`Program` (CSE by structure, constant hoisting,
    linear-scan register reuse).  The program computes ``sum_i alpha^i * C_i``
    (run by :func:`eval_combined`)."""
    return _compile(constraints, 0)


def compile_fractions(denominators: Sequence[Expr], numerators: Sequence[Expr]) -> Program:
    """Compile the fractions ``numerators[i] / denominators[i]`` (extension denominators,
    base numerators) for :func:`eval_fraction_sums`: the LogUp helper columns, with one
    shared evaluation of every common subexpression of the tuples and multiplicities."""
    if len(denominators) != len(numerators) or not denominators:
        raise ValueError("need as many numerators as denominators, at least one")
    if not all(d.is_ext for d in denominators) or any(m.is_ext for m in numerators):
        raise ValueError("fractions need extension denominators and base numerators")
    return _compile(list(denominators) + list(numerators), len(denominators))


def _compile(constraints: Sequence[Expr], num_fractions: int) -> Program:
    """Roots are combined by ACC ops, or with ``num_fractions`` > 0 stored: root i <
    num_fractions into the extension buffer i (a denominator), the others into base
    buffer i - num_fractions (a numerator)."""
    order, roots = topo_order(constraints)
    dep = _row_dependent(order)
    pos = {n.key: i for i, n in enumerate(order)}
    # Where a node's value is last needed (operators reading it, or its own ACC).
    last_use = {i: i for i in range(len(order))}
    for i, n in enumerate(order):
        if dep[n.key]:
            for a in n.args:
                last_use[pos[a.key]] = max(last_use[pos[a.key]], i)
    root_alphas: dict[int, list[int]] = {}
    for ci, r in enumerate(roots):
        root_alphas.setdefault(r, []).append(ci)

    ops: list[tuple[int, int, int, int, int]] = []
    free = {False: [], True: []}
    count = {False: 0, True: 0}
    slot: dict[int, int] = {}
    const_base: list[Expr] = []
    const_ext: list[Expr] = []

    def alloc(ext: bool) -> int:
        if free[ext]:
            return free[ext].pop()
        count[ext] += 1
        return count[ext] - 1

    def materialise(i: int) -> None:
        """Emit the op computing node i into a fresh slot."""
        n = order[i]
        ext = n.is_ext
        d = alloc(ext)
        slot[i] = d
        if not dep[n.key]:
            table = const_ext if ext else const_base
            ops.append((_OP_CONST_E if ext else _OP_CONST_B, d, len(table), 0, 0))
            table.append(n)
        elif n.op in (MAIN, PRE):
            ops.append((_OP_LOAD_BASE, d, 0 if n.op == MAIN else 1, n.data[0], int(n.data[1])))
        elif n.op == PERM:
            ops.append((_OP_LOAD_PERM, d, 0, n.data[0], int(n.data[1])))
        elif n.op in SELECTORS:
            ops.append((_OP_LOAD_SEL, d, 0, SELECTORS.index(n.op), 0))
        elif n.op == NEG:
            ops.append((_OP_NEG_E if ext else _OP_NEG_B, d, slot[pos[n.args[0].key]], 0, 0))
        else:
            x, y = n.args
            sx, sy = slot[pos[x.key]], slot[pos[y.key]]
            if not x.is_ext and not y.is_ext:
                code = {ADD: _OP_ADD_BB, SUB: _OP_SUB_BB, MUL: _OP_MUL_BB}[n.op]
            elif x.is_ext and y.is_ext:
                code = {ADD: _OP_ADD_EE, SUB: _OP_SUB_EE, MUL: _OP_MUL_EE}[n.op]
            elif x.is_ext:
                code = {ADD: _OP_ADD_EB, SUB: _OP_SUB_EB, MUL: _OP_MUL_EB}[n.op]
            elif n.op == SUB:
                code = _OP_SUB_BE
            else:  # base op ext, commutative: swap operands
                code = {ADD: _OP_ADD_EB, MUL: _OP_MUL_EB}[n.op]
                sx, sy = sy, sx
            ops.append((code, d, sx, sy, 0))

    for i, n in enumerate(order):
        if not dep[n.key] and i not in root_alphas:
            continue  # a hoisted constant: materialised when a row-dependent user needs it
        if dep[n.key]:
            for a in n.args:
                ai = pos[a.key]
                if ai not in slot and not dep[a.key]:
                    materialise(ai)
        materialise(i)
        for ci in root_alphas.get(i, ()):
            if num_fractions:
                ops.append((_OP_STORE_E if n.is_ext else _OP_STORE_B, 0, slot[i], ci % num_fractions, 0))
            else:
                ops.append((_OP_ACC_E if n.is_ext else _OP_ACC_B, 0, slot[i], ci, 0))
        # Free operands whose last use is this node, and the node itself if unused later.
        for j in {pos[a.key] for a in n.args} | {i}:
            if j in slot and last_use[j] <= i:
                free[order[j].is_ext].append(slot.pop(j))
    uses = tuple(any(n.op == s for n in order) for s in SELECTORS)
    arr = np.array(ops, dtype=np.int64).reshape(-1, 5)
    return Program(arr, max(count[False], 1), max(count[True], 1), tuple(const_base), tuple(const_ext),
                   len(constraints), uses, num_fractions)


@njit(parallel=True, cache=True, error_model="numpy")
def _run_program(ops, nb, ne, main, main_idx, pre, pre_idx, perm, perm_idx, sel,
                 cb, ce, alpha, inv_zh, groups, n_rows, out):
    """The interpreter, over blocks of _BLOCK_ROWS points in parallel.

    Registers hold Montgomery forms (v * 2^32 mod P), so that every product is a
    32x32-bit multiplication plus a Montgomery reduction, which LLVM vectorises across
    the block's rows (a 64-bit ``%`` does not vectorise): loads convert (one montmul by
    R^2) and ``cb``/``ce`` come converted.

    Without ``groups`` (empty) the ACC ops sum ``alpha^i * C_i`` and each point's sum
    times ``inv_zh`` (Montgomery form) goes to ``out`` (uint32[n_rows, 4]); alpha is
    canonical, so alpha^i * (v R) summed and reduced once is already canonical.

    With ``groups`` (one group per fraction) the STORE ops keep each fraction's
    denominator and numerator, and ``out[:, 4g:4g+4]`` gets the sum of the group-g
    fractions; returns False if a denominator was zero."""
    p = np.uint64(P)
    r2 = np.uint64(field.MONT_R2_MOD_P)
    w_mont = np.uint64(field.W * field.MONT_R_MOD_P % P)
    nf = groups.shape[0]
    ng = 0
    for i in range(nf):
        ng = max(ng, groups[i] + 1)
    nblocks = (n_rows + _BLOCK_ROWS - 1) // _BLOCK_ROWS
    zh_block = max(n_rows // inv_zh.shape[0], 1)
    ok = np.ones(nblocks, dtype=np.bool_)
    for blk in prange(nblocks):
        r0 = blk * _BLOCK_ROWS
        ln = min(_BLOCK_ROWS, n_rows - r0)
        sb = np.empty((nb, _BLOCK_ROWS), np.uint64)
        se = np.empty((ne, 4, _BLOCK_ROWS), np.uint64)
        # Unreduced sums of products (< P^2 each): after fold64 there is room for four
        # more, so ``pending`` counts the products added since the last fold.
        acc = np.zeros((4, _BLOCK_ROWS if nf == 0 else 0), np.uint64)
        pending = 0
        den = np.empty((nf, 4, _BLOCK_ROWS), np.uint64)
        num = np.empty((nf, _BLOCK_ROWS), np.uint64)
        # Current-row main values of the whole block, transposed once: the matrix rows
        # are read sequentially and every LOAD below becomes a contiguous copy.
        wm = main.shape[1]
        mt = np.empty((wm, _BLOCK_ROWS), np.uint32)
        for j in range(ln):
            row = main_idx[0, r0 + j]
            for col in range(wm):
                mt[col, j] = main[row, col]
        for k in range(ops.shape[0]):
            opc = ops[k, 0]
            d = ops[k, 1]
            a = ops[k, 2]
            b = ops[k, 3]
            c = ops[k, 4]
            if opc == 0:
                if a == 0 and c == 0:
                    for j in range(ln):
                        sb[d, j] = field.montmul(np.uint64(mt[b, j]), r2)
                elif a == 0:
                    for j in range(ln):
                        sb[d, j] = field.montmul(np.uint64(main[main_idx[c, r0 + j], b]), r2)
                else:
                    for j in range(ln):
                        sb[d, j] = field.montmul(np.uint64(pre[pre_idx[c, r0 + j], b]), r2)
            elif opc == 1:
                for j in range(ln):
                    row = perm_idx[c, r0 + j]
                    for t in range(4):
                        se[d, t, j] = field.montmul(np.uint64(perm[row, 4 * b + t]), r2)
            elif opc == 2:
                for j in range(ln):
                    sb[d, j] = field.montmul(np.uint64(sel[b, r0 + j]), r2)
            elif opc == 3:
                v = cb[a]
                for j in range(ln):
                    sb[d, j] = v
            elif opc == 4:
                for t in range(4):
                    v = ce[a, t]
                    for j in range(ln):
                        se[d, t, j] = v
            elif opc == 5:
                for j in range(ln):
                    sb[d, j] = field.addmod(sb[a, j], sb[b, j])
            elif opc == 6:
                for j in range(ln):
                    sb[d, j] = field.submod(sb[a, j], sb[b, j])
            elif opc == 7:
                for j in range(ln):
                    sb[d, j] = field.montmul(sb[a, j], sb[b, j])
            elif opc == 8:
                for j in range(ln):
                    sb[d, j] = field.submod(np.uint64(0), sb[a, j])
            elif opc == 9:
                for t in range(4):
                    for j in range(ln):
                        se[d, t, j] = field.addmod(se[a, t, j], se[b, t, j])
            elif opc == 10:
                for t in range(4):
                    for j in range(ln):
                        se[d, t, j] = field.submod(se[a, t, j], se[b, t, j])
            elif opc == 11:
                for j in range(ln):
                    c0, c1, c2, c3 = field.ext_mul4_mont(se[a, 0, j], se[a, 1, j], se[a, 2, j], se[a, 3, j],
                                                         se[b, 0, j], se[b, 1, j], se[b, 2, j], se[b, 3, j], w_mont)
                    se[d, 0, j] = c0
                    se[d, 1, j] = c1
                    se[d, 2, j] = c2
                    se[d, 3, j] = c3
            elif opc == 12:
                for t in range(4):
                    for j in range(ln):
                        se[d, t, j] = field.submod(np.uint64(0), se[a, t, j])
            elif opc == 13:
                for t in range(1, 4):
                    for j in range(ln):
                        se[d, t, j] = se[a, t, j]
                for j in range(ln):
                    se[d, 0, j] = field.addmod(se[a, 0, j], sb[b, j])
            elif opc == 14:
                for t in range(1, 4):
                    for j in range(ln):
                        se[d, t, j] = se[a, t, j]
                for j in range(ln):
                    se[d, 0, j] = field.submod(se[a, 0, j], sb[b, j])
            elif opc == 15:
                for t in range(1, 4):
                    for j in range(ln):
                        se[d, t, j] = field.submod(np.uint64(0), se[b, t, j])
                for j in range(ln):
                    se[d, 0, j] = field.submod(sb[a, j], se[b, 0, j])
            elif opc == 16:
                for t in range(4):
                    for j in range(ln):
                        se[d, t, j] = field.montmul(se[a, t, j], sb[b, j])
            elif opc == 17:
                if pending == 4:
                    for t in range(4):
                        for j in range(ln):
                            acc[t, j] = field.fold64(acc[t, j])
                    pending = 0
                pending += 1
                for t in range(4):
                    al = alpha[b, t]
                    for j in range(ln):
                        acc[t, j] += al * sb[a, j]
            elif opc == 18:
                if pending > 0:
                    for t in range(4):
                        for j in range(ln):
                            acc[t, j] = field.fold64(acc[t, j])
                pending = 4
                al0 = alpha[b, 0]
                al1 = alpha[b, 1]
                al2 = alpha[b, 2]
                al3 = alpha[b, 3]
                # W * alpha coefficients: the X^4 = W wrap-around folded into the constant
                aw1 = al1 * np.uint64(field.W) % p
                aw2 = al2 * np.uint64(field.W) % p
                aw3 = al3 * np.uint64(field.W) % p
                for j in range(ln):
                    x0 = se[a, 0, j]
                    x1 = se[a, 1, j]
                    x2 = se[a, 2, j]
                    x3 = se[a, 3, j]
                    acc[0, j] += al0 * x0 + aw1 * x3 + aw2 * x2 + aw3 * x1
                    acc[1, j] += al0 * x1 + al1 * x0 + aw2 * x3 + aw3 * x2
                    acc[2, j] += al0 * x2 + al1 * x1 + al2 * x0 + aw3 * x3
                    acc[3, j] += al0 * x3 + al1 * x2 + al2 * x1 + al3 * x0
            elif opc == 19:
                for j in range(ln):
                    num[b, j] = sb[a, j]
            else:
                for t in range(4):
                    for j in range(ln):
                        den[b, t, j] = se[a, t, j]
        if nf == 0:
            for j in range(ln):
                z = inv_zh[(r0 + j) // zh_block]
                for t in range(4):
                    out[r0 + j, t] = np.uint32(field.montmul(field.montred_wide(acc[t, j]), z))
        else:
            ok[blk] = _fraction_sums(den, num, groups, ng, w_mont, ln, out, r0)
    return ok.all()


@njit(inline="always", cache=True)
def _fraction_sums(den, num, groups, ng, w_mont, ln, out, r0):
    """out[r0 + j, 4g:4g+4] = sum over fractions i of group g of num[i, j] / den[i, j]
    (Montgomery forms in, canonical out) for j < ln; False if a denominator is zero.

    Each denominator a is inverted by its norm: with a' = a(-X), a a' = c0 + c2 X^2
    and N = c0^2 - W c2^2 lies in the base field, so 1/a = a' (c0 - c2 X^2) / N.  The
    norms of the block are inverted by Montgomery's trick with one chain per fraction,
    advanced in lockstep over the rows (independent multiplications instead of one
    long dependent chain), and one exponentiation per fraction."""
    nf = den.shape[0]
    w = np.uint64(field.W)
    c0s = np.empty((nf, ln), np.uint64)
    c2s = np.empty((nf, ln), np.uint64)
    norms = np.empty((ln, nf), np.uint64)
    prefix = np.empty((ln, nf), np.uint64)
    nonzero = True
    for i in range(nf):
        for j in range(ln):
            x0 = den[i, 0, j]
            x1 = den[i, 1, j]
            x2 = den[i, 2, j]
            x3 = den[i, 3, j]
            # c0 = x0^2 + W x2^2 - 2 W x1 x3,  c2 = 2 x0 x2 - x1^2 - W x3^2
            wx3 = field.montmul(x3, w_mont)
            c0 = field.submod(field.montred_wide(x0 * x0 + field.montmul(x2, w_mont) * x2),
                              field.addmod(field.montmul(x1, wx3), field.montmul(x1, wx3)))
            x02 = field.montmul(x0, x2)
            c2 = field.submod(field.addmod(x02, x02), field.montred_wide(x1 * x1 + wx3 * x3))
            c0s[i, j] = c0
            c2s[i, j] = c2
            norms[j, i] = field.submod(field.montmul(c0, c0), field.montmul(field.montmul(c2, c2), w_mont))
    one = np.uint64(field.MONT_R_MOD_P)
    run = np.empty(nf, np.uint64)
    run[:] = one
    for j in range(ln):
        for i in range(nf):
            prefix[j, i] = run[i]
            run[i] = field.montmul(run[i], norms[j, i])
    for i in range(nf):
        nonzero &= run[i] != 0
        run[i] = _mont_inverse(run[i])
    hsum = np.zeros((ng, 4, ln), np.uint64)
    for j in range(ln - 1, -1, -1):
        for i in range(nf):
            ninv = field.montmul(run[i], prefix[j, i])
            run[i] = field.montmul(run[i], norms[j, i])
            # fold the numerator into (c0 - c2 X^2) / N, then multiply by a' = a(-X)
            s = field.montmul(ninv, num[i, j])
            d0 = field.montmul(c0s[i, j], s)
            d2 = field.submod(np.uint64(0), field.montmul(c2s[i, j], s))
            wd2 = field.montmul(d2, w_mont)
            y0 = den[i, 0, j]
            y1 = field.submod(np.uint64(0), den[i, 1, j])
            y2 = den[i, 2, j]
            y3 = field.submod(np.uint64(0), den[i, 3, j])
            g = groups[i]
            hsum[g, 0, j] = field.addmod(hsum[g, 0, j], field.montred_wide(y0 * d0 + y2 * wd2))
            hsum[g, 1, j] = field.addmod(hsum[g, 1, j], field.montred_wide(y1 * d0 + y3 * wd2))
            hsum[g, 2, j] = field.addmod(hsum[g, 2, j], field.montred_wide(y2 * d0 + y0 * d2))
            hsum[g, 3, j] = field.addmod(hsum[g, 3, j], field.montred_wide(y3 * d0 + y1 * d2))
    for g in range(ng):
        for j in range(ln):
            for t in range(4):
                out[r0 + j, 4 * g + t] = np.uint32(field.montmul(hsum[g, t, j], np.uint64(1)))
    return nonzero


@njit(inline="always", cache=True)
def _mont_inverse(x):
    """The inverse of x in Montgomery form (x^(P-2) by Montgomery multiplications, which
    keep the form); 0 for 0."""
    r = np.uint64(field.MONT_R_MOD_P)
    e = P - 2
    while e > 0:
        if e & 1:
            r = field.montmul(r, x)
        x = field.montmul(x, x)
        e >>= 1
    return r


def alpha_powers(alpha: np.ndarray, count: int) -> np.ndarray:
    """``[1, alpha, alpha^2, ...]`` as ``uint32[count, 4]``."""
    out = np.zeros((max(count, 1), 4), dtype=np.uint32)
    out[0, 0] = 1
    for i in range(1, count):
        out[i] = field.ext_mul(out[i - 1], alpha)
    return out


@dataclass(frozen=True)
class Source:
    """Where the kernel reads one kind of column: ``matrix`` row ``rows[0, j]`` holds the
    value at domain point j and row ``rows[1, j]`` the value of the next trace row there.

    Index maps let the kernel read the PCS's bit-reversed low-degree extensions in place
    (no reordered copy of a large matrix)."""

    matrix: np.ndarray
    rows: np.ndarray  # int32[2, n_rows] (other integer types are converted)


_EMPTY_SOURCE = Source(np.zeros((1, 1), np.uint32), np.zeros((2, 1), np.int32))


def _launch(program: Program, env: Env, alphas: np.ndarray, n_rows: int, sources: Sequence[Source | None],
            selectors: np.ndarray | None, inv_zh: np.ndarray | None, groups: np.ndarray, out: np.ndarray) -> bool:
    """Check the inputs and run :func:`_run_program` into ``out``."""
    cb, ce = (field.to_mont(c).astype(np.uint64) for c in program.bind_constants(env))
    sel = np.ascontiguousarray(selectors, dtype=np.uint32) if selectors is not None else np.zeros((3, 1), np.uint32)
    if any(program.uses_selectors) and sel.shape != (3, n_rows):
        raise ValueError("the program reads selectors: pass uint32[3, n_rows]")
    srcs = []
    for s in sources:
        s = s or _EMPTY_SOURCE
        if s is not _EMPTY_SOURCE and s.rows.shape != (2, n_rows):
            raise ValueError(f"row maps must have shape (2, {n_rows})")
        srcs += [np.ascontiguousarray(s.matrix, dtype=np.uint32), np.ascontiguousarray(s.rows, dtype=np.int32)]
    zh = field.to_mont(np.ones(1, np.uint32) if inv_zh is None else inv_zh).astype(np.uint64)
    if not len(program.ops):
        return True
    return bool(_run_program(program.ops, program.num_base_slots, program.num_ext_slots, *srcs,
                             sel, cb, ce, alphas, zh, groups, n_rows, out))


def eval_combined(program: Program, env: Env, alpha: np.ndarray, *, n_rows: int,
                  main: Source | None = None, pre: Source | None = None, perm: Source | None = None,
                  selectors: np.ndarray | None = None, inv_zh: np.ndarray | None = None) -> np.ndarray:
    """The prover's hot path: ``(sum_i alpha^i C_i(x_j)) * inv_zh[j // (n_rows / len(inv_zh))]``
    for every point j of an evaluation domain of ``n_rows`` points, as ``uint32[n_rows, 4]``
    (points come in whatever order the sources' row maps and the selectors use; ``inv_zh``
    is constant on each of ``len(inv_zh)`` equal consecutive blocks of points - the cosets
    of the trace domain when points are in bit-reversed order).

    ``selectors`` is ``uint32[3, n_rows]`` (first, last, transition) when the program uses
    any; ``inv_zh`` defaults to ones (then the result is the numerator only).
    """
    if program.num_fractions:
        raise ValueError("eval_combined runs a compile_program program")
    alphas = alpha_powers(np.asarray(alpha, dtype=np.uint32), program.num_constraints).astype(np.uint64)
    out = np.zeros((n_rows, 4), dtype=np.uint32)
    _launch(program, env, alphas, n_rows, (main, pre, perm), selectors, inv_zh, _NO_GROUPS, out)
    return out


_NO_GROUPS = np.zeros(0, dtype=np.int64)


def eval_fraction_sums(program: Program, env: Env, groups: Sequence[int], out: np.ndarray, *, n_rows: int,
                       main: Source | None = None, pre: Source | None = None,
                       selectors: np.ndarray | None = None) -> bool:
    """For a :func:`compile_fractions` program, ``out[j, 4g:4g+4] = sum_{i: groups[i] = g}
    numerator_i(x_j) / denominator_i(x_j)`` at every point j < ``n_rows`` (sources and
    selectors as for :func:`eval_combined`); ``out`` is uint32[n_rows, >= 4 * groups]
    (other columns are left alone).  Returns False if some denominator vanished (then
    ``out`` is garbage)."""
    groups = np.asarray(groups, dtype=np.int64)
    if not program.num_fractions or groups.shape != (program.num_fractions,) or groups.min() < 0:
        raise ValueError("eval_fraction_sums needs a compile_fractions program and a group per fraction")
    if out.dtype != np.uint32 or out.ndim != 2 or out.shape[0] != n_rows or out.shape[1] < 4 * (int(groups.max()) + 1):
        raise ValueError("out must be uint32[n_rows, >= 4 * number of groups]")
    return _launch(program, env, np.zeros((1, 4), np.uint64), n_rows, (main, pre, None), selectors, None, groups, out)
