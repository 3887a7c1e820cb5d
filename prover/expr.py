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
  compiled kernel serves every AIR, so there is no per-AIR JIT latency);
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
    order, roots = topo_order(constraints)
    pos = {n.key: i for i, n in enumerate(order)}
    vals: list[_Val] = []
    for n in order:
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
            x = vals[pos[n.args[0].key]]
            vals.append(_Val(field.ext_neg(x.a) if x.ext else field.neg(x.a), x.ext))
        else:
            vals.append(_binop(op, vals[pos[n.args[0].key]], vals[pos[n.args[1].key]]))
    return [(vals[r].a, vals[r].ext) for r in roots]


def combine_at_point(constraints: Sequence[Expr], env: Env, alpha: np.ndarray) -> np.ndarray:
    """The verifier's folded constraint value ``sum_i alpha^i * C_i`` at one point, with
    every column and selector given as an extension ``[4]`` (or ``[1, 4]``) value."""
    acc = np.zeros(4, dtype=np.uint32)
    power = field.ext_from_base(np.uint32(1))
    for values, is_ext in evaluate(constraints, env, ext_columns=True):
        v = np.asarray(values, dtype=np.uint32).reshape(-1)
        v = v[:4] if is_ext else field.ext_from_base(v[0])
        acc = field.ext_add(acc, field.ext_mul(power, v))
        power = field.ext_mul(power, alpha)
    return acc


# -- back-end 1 (fast): a register program run by one numba interpreter ------------------
# Opcodes.  ``b`` slots hold base values, ``e`` slots extension values (4 coefficients).
_OP_LOAD_BASE, _OP_LOAD_PERM, _OP_LOAD_SEL, _OP_CONST_B, _OP_CONST_E = 0, 1, 2, 3, 4
_OP_ADD_BB, _OP_SUB_BB, _OP_MUL_BB, _OP_NEG_B = 5, 6, 7, 8
_OP_ADD_EE, _OP_SUB_EE, _OP_MUL_EE, _OP_NEG_E = 9, 10, 11, 12
_OP_ADD_EB, _OP_SUB_EB, _OP_SUB_BE, _OP_MUL_EB = 13, 14, 15, 16
_OP_ACC_B, _OP_ACC_E = 17, 18
_BLOCK_ROWS = 128


@dataclass(frozen=True)
class Program:
    """Constraints compiled to straight-line code over block registers.

    ``ops`` rows are ``(opcode, dst, a, b, c)``; row-independent subexpressions
    (publics, challenges, their combinations) are hoisted into ``const_base`` /
    ``const_ext`` and evaluated once per proof by :meth:`bind_constants`.
    """

    ops: np.ndarray
    num_base_slots: int
    num_ext_slots: int
    const_base: tuple[Expr, ...]
    const_ext: tuple[Expr, ...]
    num_constraints: int
    uses_selectors: tuple[bool, bool, bool]

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
    linear-scan register reuse).  The program computes ``sum_i alpha^i * C_i``."""
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
            ops.append((_OP_ACC_E if n.is_ext else _OP_ACC_B, 0, slot[i], ci, 0))
        # Free operands whose last use is this node, and the node itself if unused later.
        for j in {pos[a.key] for a in n.args} | {i}:
            if j in slot and last_use[j] <= i:
                free[order[j].is_ext].append(slot.pop(j))
    uses = tuple(any(n.op == s for n in order) for s in SELECTORS)
    arr = np.array(ops, dtype=np.int64).reshape(-1, 5)
    return Program(arr, max(count[False], 1), max(count[True], 1), tuple(const_base), tuple(const_ext),
                   len(constraints), uses)


@njit(parallel=True, cache=True, error_model="numpy")
def _run_program(ops, nb, ne, main, main_idx, pre, pre_idx, perm, perm_idx, sel,
                 cb, ce, alpha, inv_zh, n_rows, out):
    p = np.uint64(P)
    w = np.uint64(field.W)
    nblocks = (n_rows + _BLOCK_ROWS - 1) // _BLOCK_ROWS
    zh_block = max(n_rows // inv_zh.shape[0], 1)
    for blk in prange(nblocks):
        r0 = blk * _BLOCK_ROWS
        ln = min(_BLOCK_ROWS, n_rows - r0)
        sb = np.empty((nb, _BLOCK_ROWS), np.uint64)
        se = np.empty((ne, 4, _BLOCK_ROWS), np.uint64)
        acc = np.zeros((4, _BLOCK_ROWS), np.uint64)
        pending = 0
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
                        sb[d, j] = mt[b, j]
                elif a == 0:
                    for j in range(ln):
                        sb[d, j] = main[main_idx[c, r0 + j], b]
                else:
                    for j in range(ln):
                        sb[d, j] = pre[pre_idx[c, r0 + j], b]
            elif opc == 1:
                for j in range(ln):
                    row = perm_idx[c, r0 + j]
                    for t in range(4):
                        se[d, t, j] = perm[row, 4 * b + t]
            elif opc == 2:
                for j in range(ln):
                    sb[d, j] = sel[b, r0 + j]
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
                    s = sb[a, j] + sb[b, j]
                    sb[d, j] = s - p if s >= p else s
            elif opc == 6:
                for j in range(ln):
                    x = sb[a, j]
                    y = sb[b, j]
                    sb[d, j] = x - y if x >= y else x + p - y
            elif opc == 7:
                for j in range(ln):
                    sb[d, j] = sb[a, j] * sb[b, j] % p
            elif opc == 8:
                for j in range(ln):
                    x = sb[a, j]
                    sb[d, j] = p - x if x != 0 else x
            elif opc == 9:
                for t in range(4):
                    for j in range(ln):
                        s = se[a, t, j] + se[b, t, j]
                        se[d, t, j] = s - p if s >= p else s
            elif opc == 10:
                for t in range(4):
                    for j in range(ln):
                        x = se[a, t, j]
                        y = se[b, t, j]
                        se[d, t, j] = x - y if x >= y else x + p - y
            elif opc == 11:
                for j in range(ln):
                    a0 = se[a, 0, j]
                    a1 = se[a, 1, j]
                    a2 = se[a, 2, j]
                    a3 = se[a, 3, j]
                    b0 = se[b, 0, j]
                    b1 = se[b, 1, j]
                    b2 = se[b, 2, j]
                    b3 = se[b, 3, j]
                    se[d, 0, j] = (a0 * b0 % p + w * ((a1 * b3 % p + a2 * b2 % p + a3 * b1 % p) % p)) % p
                    se[d, 1, j] = (a0 * b1 % p + a1 * b0 % p + w * ((a2 * b3 % p + a3 * b2 % p) % p)) % p
                    se[d, 2, j] = (a0 * b2 % p + a1 * b1 % p + a2 * b0 % p + w * (a3 * b3 % p)) % p
                    se[d, 3, j] = (a0 * b3 % p + a1 * b2 % p + a2 * b1 % p + a3 * b0 % p) % p
            elif opc == 12:
                for t in range(4):
                    for j in range(ln):
                        x = se[a, t, j]
                        se[d, t, j] = p - x if x != 0 else x
            elif opc == 13:
                for t in range(4):
                    for j in range(ln):
                        se[d, t, j] = se[a, t, j]
                for j in range(ln):
                    s = se[d, 0, j] + sb[b, j]
                    se[d, 0, j] = s - p if s >= p else s
            elif opc == 14:
                for t in range(4):
                    for j in range(ln):
                        se[d, t, j] = se[a, t, j]
                for j in range(ln):
                    x = se[d, 0, j]
                    y = sb[b, j]
                    se[d, 0, j] = x - y if x >= y else x + p - y
            elif opc == 15:
                for t in range(4):
                    for j in range(ln):
                        x = se[b, t, j]
                        se[d, t, j] = p - x if x != 0 else x
                for j in range(ln):
                    s = se[d, 0, j] + sb[a, j]
                    se[d, 0, j] = s - p if s >= p else s
            elif opc == 16:
                for t in range(4):
                    for j in range(ln):
                        se[d, t, j] = se[a, t, j] * sb[b, j] % p
            elif opc == 17:
                # Unreduced products (< p^2 < 2^62): acc stays below 2^64 for three of
                # them after a reduction, so reduce every third accumulation.
                for t in range(4):
                    al = alpha[b, t]
                    if al != 0:
                        for j in range(ln):
                            acc[t, j] += al * sb[a, j]
                pending += 1
                if pending == 3:
                    for t in range(4):
                        for j in range(ln):
                            acc[t, j] %= p
                    pending = 0
            else:
                pending += 1
                if pending == 3:
                    for t in range(4):
                        for j in range(ln):
                            acc[t, j] %= p
                    pending = 0
                al0 = alpha[b, 0]
                al1 = alpha[b, 1]
                al2 = alpha[b, 2]
                al3 = alpha[b, 3]
                for j in range(ln):
                    x0 = se[a, 0, j]
                    x1 = se[a, 1, j]
                    x2 = se[a, 2, j]
                    x3 = se[a, 3, j]
                    acc[0, j] += (al0 * x0 % p + w * ((al1 * x3 % p + al2 * x2 % p + al3 * x1 % p) % p)) % p
                    acc[1, j] += (al0 * x1 % p + al1 * x0 % p + w * ((al2 * x3 % p + al3 * x2 % p) % p)) % p
                    acc[2, j] += (al0 * x2 % p + al1 * x1 % p + al2 * x0 % p + w * (al3 * x3 % p)) % p
                    acc[3, j] += (al0 * x3 % p + al1 * x2 % p + al2 * x1 % p + al3 * x0 % p) % p
        for j in range(ln):
            z = inv_zh[(r0 + j) // zh_block]
            for t in range(4):
                out[r0 + j, t] = np.uint32(acc[t, j] % p * z % p)


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
    cb, ce = program.bind_constants(env)
    alphas = alpha_powers(np.asarray(alpha, dtype=np.uint32), program.num_constraints).astype(np.uint64)
    sel = np.ascontiguousarray(selectors, dtype=np.uint32) if selectors is not None else np.zeros((3, 1), np.uint32)
    if any(program.uses_selectors) and sel.shape != (3, n_rows):
        raise ValueError("the program reads selectors: pass uint32[3, n_rows]")
    srcs = []
    for s in (main, pre, perm):
        s = s or _EMPTY_SOURCE
        if s is not _EMPTY_SOURCE and s.rows.shape != (2, n_rows):
            raise ValueError(f"row maps must have shape (2, {n_rows})")
        srcs += [np.ascontiguousarray(s.matrix, dtype=np.uint32), np.ascontiguousarray(s.rows, dtype=np.int32)]
    zh = np.ones(1, np.uint64) if inv_zh is None else np.asarray(inv_zh, dtype=np.uint64)
    out = np.zeros((n_rows, 4), dtype=np.uint32)
    if len(program.ops):
        _run_program(program.ops, program.num_base_slots, program.num_ext_slots, *srcs,
                     sel, cb, ce, alphas, zh, n_rows, out)
    return out
