"""The row kernel's last section: a query's DEEP quotient and its FRI folds, as EVM assembly.

Why: after the row kernel has summed a query's opened rows per (height, point) group, the
verifier still divides each group's sum by ``x_h - z_g``, adds the quotients per height,
and folds them through every FRI layer down to the final polynomial. In Vyper that cost
about 200 k gas a query of a zkMIPS segment proof (27 groups, 13 layers: bounds checks,
memory-resident locals, internal calls); here the same arithmetic runs on the stack, with
the query points and fold factors from constant tables in the code and a squaring chain,
for about 90 k.

Input: the ``fri`` words (the last array of the row kernel's ABI input, built once per batch
by ``queries.vy``; :func:`fri_words` is their Python form): the largest LDE log-height, the
mask row's offset in the query plus one (0: no mask), the number of FRI layers, the final
domain's shift and the final polynomial's length; the final polynomial's coefficients; per
group its height, its point z_g and its value V_g (the opened values' DEEP sum); per layer
:data:`LAYER_WORDS` words: its log-arity, its row's offset in the query, the inverse of its
coset's shift, beta^arity (what a shorter height rolls in with) and beta^(2^t) for t < 4.

Output: one status word after the roots (:data:`OK`, :data:`LAYER_MISMATCH`,
:data:`FINAL_MISMATCH`, :data:`ZERO_DENOMINATOR`). A non-canonical row value reverts, as
everywhere in the kernel. :func:`status` is the specification, computed with the Python
verifier's own arithmetic (``prover.field``, ``prover.fri``).
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np

from prover import field, fri
from prover.field import GENERATOR
from settlement import evm_field_asm as F
from settlement.evm_asm import Data, Item, Label, Push, PushLabel
from settlement.evm_field_asm import M64, ONES, P, PP

OK, LAYER_MISMATCH, FINAL_MISMATCH, ZERO_DENOMINATOR = 0, 1, 2, 3
#: Words of the ``fri`` input before the final polynomial; per group; per layer.
HEAD_WORDS, GROUP_WORDS, LAYER_WORDS = 5, 3, 8
#: The largest log-arity of a layer (prover.security.FriParams allows no more): a layer's
#: words hold beta^(2^t) for t below it.
MAX_LOG_ARITY = 4

# memory, after the Merkle walk is done with it (the sums and roots stay below 0x1000):
# variables, the inversion's scratch; per height h the query's point u_h = omega_h^bitrev_h(pos_h)
# (pos_h = index >> (log_max - h)) and its inverse v_h, and the reduced value; per group the
# denominator and its prefix product; a FRI row; the constant tables
_VARS = 0x1C00
(FP, GP, NG, LM, RSET, CUR, LH, INDEX, LP, LI, NL, AR, K, BASE, ROUT, ST, AT, T) = (
    _VARS + 32 * i for i in range(18))
INV_SCRATCH = 0x1B00
U, RED, DEN, PRE, VALS = 0x2000, 0x2800, 0x3000, 0x3800, 0x4000
OMT, OMIT, ZH, TK, V = 0x4200, 0x4600, 0x4A00, 0x4B00, 0x4F00


def _bitrev(j: int, bits: int) -> int:
    return int(fri.bit_reverse_array(np.array([j]), bits)[0]) if bits else 0


@functools.lru_cache(maxsize=None)
def _tables() -> bytes:
    """OMT: two_adic_generator(i + 1) for the bits i < 32 of a position (0 past the field's
    two-adicity), OMIT their inverses; ZH: INV2 * omega_16^-bitrev_3(j) for a fold's pairs
    j < 8; TK: omega_{2^k}^bitrev_k(j) at 2^k + j, for a row of arity 2^k <= 16."""
    om = [field.two_adic_generator(i + 1) if i + 1 <= field.TWO_ADICITY else 0 for i in range(32)]
    omi = [pow(w, P - 2, P) if w else 0 for w in om]
    w16 = pow(field.two_adic_generator(4), P - 2, P)
    zh = [(P + 1) // 2 * pow(w16, _bitrev(j, 3), P) % P for j in range(8)]
    tk = [0, 0] + [pow(field.two_adic_generator(k), _bitrev(j, k), P)
                   for k in range(1, MAX_LOG_ARITY + 1) for j in range(1 << k)]
    return b"".join(v.to_bytes(32, "big") for v in om + omi + zh + tk)


def _omega_bitrev(table: int, tag: str) -> list[Item]:
    """[pos, n] -> [the product of table[i] over the bits i < n of pos]: with table[i] =
    two_adic_generator(i + 1), omega_{2^n}^bitrev_n(pos), the point at bit-reversed position
    pos of H_{2^n}."""
    loop, skip, end = f"{tag}_loop", f"{tag}_skip", f"{tag}_end"
    return ["SWAP1", Push(1), "SWAP1", "SHL", Push(1), "SWAP1", "SUB", "AND",   # [pos mod 2^n]
            Push(1), "SWAP1", Push(table), "SWAP1",                                # [pos, tp, r]
            Label(loop),
            "DUP1", "ISZERO", PushLabel(end), "JUMPI",
            "DUP1", Push(1), "AND", "ISZERO", PushLabel(skip), "JUMPI",
            "DUP2", "MLOAD", "DUP4", *F.mulmod_p(), "SWAP3", "POP",
            Label(skip),
            Push(1), "SHR", "SWAP1", Push(32), "ADD", "SWAP1",
            PushLabel(loop), "JUMP",
            Label(end),
            "POP", "POP"]


def _ld(addr: int) -> list[Item]:
    return [Push(addr), "MLOAD"]


def _st(addr: int) -> list[Item]:
    return [Push(addr), "MSTORE"]


def _fail(code: int) -> list[Item]:
    return [Push(code), *_st(ST), PushLabel("fri_exit"), "JUMP"]


def program(abi: int, rows_base: int, index_var: int) -> list[Item]:
    """The section: [rout] -> returns (memory [0, rout + 32), the status at rout) when the
    input has ``fri`` words, else falls through with [rout]. ``abi`` is where the ABI input
    starts in the calldata, ``rows_base`` and ``index_var`` the memory words holding the
    query's calldata offset and index; the groups' packed sums are at 32 g."""
    return [
        Push(abi + 160), "CALLDATALOAD", Push(abi), "ADD",         # [flen_at, rout]
        "DUP1", "CALLDATALOAD", "ISZERO", PushLabel("fri_none"), "JUMPI",
        Push(32), "ADD", *_st(FP), *_st(ROUT),
        Push(len(_tables())), PushLabel("fri_tables"), Push(OMT), "CODECOPY",
        Push(0x800), "CALLDATASIZE", Push(RED), "CALLDATACOPY",   # RED cleared
        "PUSH0", *_st(RSET), "PUSH0", *_st(ST),
        *_ld(FP), "CALLDATALOAD", *_st(LM),
        *_ld(FP), Push(64), "ADD", "CALLDATALOAD", *_st(NL),
        *_ld(FP), Push(128), "ADD", "CALLDATALOAD", Push(5), "ADD", Push(5), "SHL", *_ld(FP), "ADD", *_st(GP),
        Push(abi + 96), "CALLDATALOAD", *_st(NG),
        *_points(index_var), *_deep(), *_mask(rows_base), *_layers(rows_base, index_var), *_final(),
        Label("fri_exit"),
        *_ld(ST), *_ld(ROUT), "MSTORE",
        *_ld(ROUT), Push(32), "ADD", "PUSH0", "RETURN",
        Label("fri_none"),
        "POP",                                                     # [rout]
    ]


def tables() -> list[Item]:
    """The constant tables (placed after the kernel's last instruction)."""
    return [Data("fri_tables", _tables())]


def _points(index_var: int) -> list[Item]:
    """U[h] and V[h] for every h <= log_max: u at log_max from the table, then squared down
    (u_{h-1} = u_h^2, as pos_{h-1} = pos_h >> 1), and its inverse likewise."""
    return [
        *_ld(LM), *_ld(index_var), *_omega_bitrev(OMT, "u"),
        *_ld(LM), *_ld(index_var), *_omega_bitrev(OMIT, "v"),
        *_ld(LM),                                                   # [h, v, u]
        Label("chain"),
        "DUP3", "DUP2", Push(5), "SHL", Push(U), "ADD", "MSTORE",
        "DUP2", "DUP2", Push(5), "SHL", Push(V), "ADD", "MSTORE",
        "DUP1", "ISZERO", PushLabel("chain_done"), "JUMPI",
        Push(1), "SWAP1", "SUB",
        "SWAP1", "DUP1", *F.mulmod_p(), "SWAP1",
        "SWAP2", "DUP1", *F.mulmod_p(), "SWAP2",
        PushLabel("chain"), "JUMP",
        Label("chain_done"),
        "POP", "POP", "POP",
    ]


def _deep() -> list[Item]:
    """RED[h] = sum over the groups g of height h of (S_g - V_g) / (x_h - z_g), with one
    inversion (prefix products); RSET has bit h set for every height with a group."""
    return [
        Push(1), "PUSH0",                                           # [g, run]
        Label("deep_1"),
        *_ld(NG), "DUP2", "LT", "ISZERO", PushLabel("deep_1_done"), "JUMPI",
        "DUP1", Push(96), "MUL", *_ld(GP), "ADD",                    # [gp, g, run]
        "DUP1", "CALLDATALOAD",                                     # [h, gp, g, run]
        "DUP1", Push(5), "SHL", Push(U), "ADD", "MLOAD", Push(GENERATOR), *F.mulmod_p(),   # [x_h, h, gp, g, run]
        "DUP3", Push(32), "ADD", "CALLDATALOAD", *F.ext_sub(),      # [d = x - z_g, h, gp, g, run]
        "DUP1", "DUP5", Push(5), "SHL", Push(DEN), "ADD", "MSTORE",
        "DUP5", "DUP5", Push(5), "SHL", Push(PRE), "ADD", "MSTORE",
        "DUP5", *F.ext_product(), "SWAP4", "POP", "POP", "POP",      # [g, run * d]
        Push(1), "ADD", PushLabel("deep_1"), "JUMP",
        Label("deep_1_done"),
        "POP", "DUP1", "ISZERO", PushLabel("deep_zero"), "JUMPI",
        *F.ext_inv(INV_SCRATCH), *_ld(NG),                          # [g, inv]
        Label("deep_2"),
        "DUP1", "ISZERO", PushLabel("deep_2_done"), "JUMPI",
        Push(1), "SWAP1", "SUB",
        "DUP1", Push(5), "SHL", Push(PRE), "ADD", "MLOAD", "DUP3", *F.ext_product(),   # [1/d_g, g, inv]
        "DUP2", Push(5), "SHL", Push(DEN), "ADD", "MLOAD", "DUP4", *F.ext_product(),
        "SWAP3", "POP",                                             # [1/d_g, g, inv / d_g]
        "DUP2", Push(96), "MUL", *_ld(GP), "ADD",                   # [gp, 1/d_g, g, inv]
        "DUP1", Push(64), "ADD", "CALLDATALOAD", "DUP4", Push(5), "SHL", "MLOAD",
        "SWAP1", *F.ext_sub(), "DUP3", *F.ext_product(),            # [t, gp, 1/d_g, g, inv]
        "SWAP1", "CALLDATALOAD",                                    # [h, t, 1/d_g, g, inv]
        "DUP1", Push(5), "SHL", Push(RED), "ADD",
        "DUP1", "MLOAD", "DUP4", *F.ext_add(), "SWAP1", "MSTORE",
        Push(1), "SWAP1", "SHL", *_ld(RSET), "OR", *_st(RSET),
        "POP", "POP", PushLabel("deep_2"), "JUMP",
        Label("deep_zero"),
        *_fail(ZERO_DENOMINATOR),
        Label("deep_2_done"),
        "POP", "POP",
    ]


def _mask(rows_base: int) -> list[Item]:
    """RED[log_max] += the mask row's value (hiding mode)."""
    return [
        *_ld(FP), Push(32), "ADD", "CALLDATALOAD",
        "DUP1", "ISZERO", PushLabel("mask_none"), "JUMPI",
        Push(1), "SWAP1", "SUB", *_ld(rows_base), "ADD", "CALLDATALOAD", *F.ext_le(),
        *_ld(LM), Push(5), "SHL", Push(RED), "ADD",
        "DUP1", "MLOAD", "DUP3", *F.ext_add(), "SWAP1", "MSTORE", "POP",
        "PUSH0",
        Label("mask_none"),
        "POP",
    ]


def _layers(rows_base: int, index_var: int) -> list[Item]:
    """Every FRI layer: its row read (canonical) and checked to hold the current value at
    the query's position, folded to one value (prover/fri.py _fold_rows), a shorter
    height's reduced value rolled in."""
    return [
        *_ld(LM), "DUP1", Push(5), "SHL", Push(RED), "ADD", "MLOAD", *_st(CUR), *_st(LH),
        *_ld(index_var), *_st(INDEX),
        *_ld(NG), Push(96), "MUL", *_ld(GP), "ADD", *_st(LP),
        "PUSH0", *_st(LI),
        Label("layer"),
        *_ld(NL), *_ld(LI), "LT", "ISZERO", PushLabel("layers_done"), "JUMPI",
        *_ld(LP), "CALLDATALOAD", "DUP1", *_st(K), Push(1), "SWAP1", "SHL", *_st(AR),
        *_ld(LP), Push(32), "ADD", "CALLDATALOAD", *_ld(rows_base), "ADD", *_st(AT),
        # the row
        "PUSH0",
        Label("row"),
        "DUP1", *_ld(AR), "GT", "ISZERO", PushLabel("row_done"), "JUMPI",
        "DUP1", Push(4), "SHL", *_ld(AT), "ADD", "CALLDATALOAD", *F.ext_le(),
        "DUP2", Push(5), "SHL", Push(VALS), "ADD", "MSTORE",
        Push(1), "ADD", PushLabel("row"), "JUMP",
        Label("row_done"),
        "POP",
        *_ld(AR), Push(1), "SWAP1", "SUB", *_ld(INDEX), "AND",    # [j]: the query's place in the row
        "DUP1", Push(5), "SHL", Push(VALS), "ADD", "MLOAD",
        *_ld(CUR), "EQ", "ISZERO", PushLabel("layer_mismatch"), "JUMPI",
        # 1/x of the row's first pair (prover/fri.py: the same exponent at every fold): the
        # coset's inverse times omega_L^-bitrev_L(r 2^k), r the row, = v_L omega_{2^k}^bitrev_k(j)
        *_ld(AR), "ADD", Push(5), "SHL", Push(TK), "ADD", "MLOAD",
        *_ld(LH), Push(5), "SHL", Push(V), "ADD", "MLOAD", *F.mulmod_p(),
        *_ld(LP), Push(64), "ADD", "CALLDATALOAD", *F.mulmod_p(), *_st(BASE),
        *_ld(INDEX), *_ld(K), "SHR", *_st(INDEX),
        "PUSH0", *_st(T),
        Label("fold"),
        *_ld(K), *_ld(T), "LT", "ISZERO", PushLabel("fold_done"), "JUMPI",
        *_ld(T), Push(5), "SHL", *_ld(LP), "ADD", Push(128), "ADD", "CALLDATALOAD",   # [b]
        *F.ext_rotations(),                                         # [b1, b2, b3, b]
        *_fold_pairs(),
        *_ld(BASE), "DUP1", *F.mulmod_p(), *_st(BASE),
        *_ld(T), Push(1), "ADD", *_st(T),
        PushLabel("fold"), "JUMP",
        Label("fold_done"),
        Push(VALS), "MLOAD",
        *_ld(K), *_ld(LH), "SUB", "DUP1", *_st(LH),                # [lh, cur]
        "DUP1", *_ld(LM), "EQ", PushLabel("no_roll"), "JUMPI",
        *_ld(RSET), "DUP2", "SHR", Push(1), "AND", "ISZERO", PushLabel("no_roll"), "JUMPI",
        "DUP1", Push(5), "SHL", Push(RED), "ADD", "MLOAD",          # [red, lh, cur]
        *_ld(LP), Push(96), "ADD", "CALLDATALOAD", *F.ext_product(),
        "DUP3", *F.ext_add(), "SWAP2", "POP",                       # [lh, cur']
        Label("no_roll"),
        "POP", *_st(CUR),
        *_ld(LP), Push(32 * LAYER_WORDS), "ADD", *_st(LP),
        *_ld(LI), Push(1), "ADD", *_st(LI),
        PushLabel("layer"), "JUMP",
        Label("layer_mismatch"),
        *_fail(LAYER_MISMATCH),
        Label("layers_done"),
    ]


def _fold_pairs() -> list[Item]:
    """[b1, b2, b3, b] (beta^(2^t) b times X, X^2, X^3, then b) -> []: one binary fold of the row in
    VALS, e' = (e0 + e1)/2 + beta (e0 - e1) / (2 x), x^-1 / 2 = BASE * ZH[j]."""
    return [
        *_ld(AR), *_ld(T), Push(1), "ADD", "SHR",                   # [n, b1, b2, b3, b]
        *_ld(BASE), "SWAP1", "PUSH0",                               # [j, n, base, b1, b2, b3, b]
        Label("pair"),
        "DUP2", "DUP2", "LT", "ISZERO", PushLabel("pairs_done"), "JUMPI",
        "DUP1", Push(6), "SHL", Push(VALS), "ADD",
        "DUP1", "MLOAD", "SWAP1", Push(32), "ADD", "MLOAD",         # [e1, e0, j, n, base, ...]
        "DUP3", Push(5), "SHL", Push(ZH), "ADD", "MLOAD", "DUP6", *F.mulmod_p(),   # [m, e1, e0, ...]
        "DUP2", Push(PP), "SUB", "DUP4", "ADD", "MUL", *F.reduce_lanes(),         # [d, e1, e0, ...]
        "SWAP2", "ADD",                                             # [e0 + e1, d, j, n, base, b1, ...]
        "DUP1", Push(ONES), "AND", Push(P), "MUL", "ADD", Push(1), "SHR",   # halved (odd lanes + p)
        "DUP2", Push(M64), "AND", "DUP10", "MUL", "ADD",            # + d0 b
        "DUP2", Push(64), "SHR", Push(M64), "AND", "DUP7", "MUL", "ADD",    # + d1 X b
        "DUP2", Push(128), "SHR", Push(M64), "AND", "DUP8", "MUL", "ADD",   # + d2 X^2 b
        "DUP2", Push(192), "SHR", "DUP9", "MUL", "ADD",             # + d3 X^3 b
        *F.reduce_lanes(),                                          # [v, d, j, ...]
        "DUP3", Push(5), "SHL", Push(VALS), "ADD", "MSTORE",
        "POP", Push(1), "ADD", PushLabel("pair"), "JUMP",
        Label("pairs_done"),
        "POP", "POP", "POP", "POP", "POP", "POP", "POP",
    ]


def _final() -> list[Item]:
    """The final polynomial at the last layer's point equals the folded value."""
    return [
        *_ld(LH), Push(5), "SHL", Push(U), "ADD", "MLOAD",
        *_ld(FP), Push(96), "ADD", "CALLDATALOAD", *F.mulmod_p(),   # [x = shift * u_lh]
        "PUSH0", *_ld(FP), Push(128), "ADD", "CALLDATALOAD",        # [j, acc, x]
        Label("horner"),
        "DUP1", "ISZERO", PushLabel("horner_done"), "JUMPI",
        Push(1), "SWAP1", "SUB",
        "DUP3", "DUP3", "MUL",
        "DUP2", Push(5), "SHL", *_ld(FP), "ADD", Push(32 * HEAD_WORDS), "ADD", "CALLDATALOAD", "ADD",
        *F.reduce_lanes(), "SWAP2", "POP",
        PushLabel("horner"), "JUMP",
        Label("horner_done"),
        "POP", *_ld(CUR), "EQ", "ISZERO", PushLabel("final_mismatch"), "JUMPI",
        PushLabel("fri_exit"), "JUMP",
        Label("final_mismatch"),
        *_fail(FINAL_MISMATCH),
    ]


# ----------------------------------------------------------------------------- Python side
def layer_words(log_arity: int, at: int, coset_inv: int, beta: int) -> list[int]:
    """A layer's words: its log-arity, its row's offset in the query, its coset's inverse
    shift, beta^arity, and beta^(2^t) for t < 4 (0 past the arity), packed."""
    if not 1 <= log_arity <= MAX_LOG_ARITY:
        raise ValueError(f"log-arity {log_arity} is outside 1..{MAX_LOG_ARITY}")
    b, squares = F.unpack(beta), []
    for t in range(MAX_LOG_ARITY):
        squares.append(F.pack(b) if t < log_arity else 0)
        b = F.ext_mul(b, b)
    roll = F.unpack(beta)
    for _ in range(log_arity):
        roll = F.ext_mul(roll, roll)
    return [log_arity, at, coset_inv, F.pack(roll), *squares]


def fri_words(log_max: int, mask_at: int | None, final_shift: int, final_poly: Sequence[int],
              groups: Sequence[tuple[int, int, int]], layers: Sequence[Sequence[int]]) -> list[int]:
    """The section's input words: ``groups`` (height, z, V) packed, ``layers`` as
    :func:`layer_words` returns them."""
    out = [log_max, 0 if mask_at is None else mask_at + 1, len(layers), final_shift, len(final_poly),
           *final_poly]
    for g in groups:
        out += list(g)
    for layer in layers:
        if len(layer) != LAYER_WORDS:
            raise ValueError("a layer has the wrong number of words")
        out += list(layer)
    return out


def _ext(v) -> np.ndarray:
    return np.array(F.unpack(v) if isinstance(v, int) else v, dtype=np.uint32)


def _ext_le(rows: bytes, at: int) -> np.ndarray:
    v = np.frombuffer(rows[at: at + 16].ljust(16, b"\0"), dtype="<u4").astype(np.uint32)
    if np.any(v >= P):
        raise ValueError("non-canonical field element")
    return v


def _point(shift: int, pos: int, log_h: int) -> int:
    """shift * omega_{2^log_h}^bitrev(pos): the point at bit-reversed position pos of shift H."""
    rev = int(fri.bit_reverse_array(np.array([pos & ((1 << log_h) - 1)]), log_h)[0]) if log_h else 0
    return shift * pow(field.two_adic_generator(log_h), rev, P) % P


def status(words: Sequence[int], groups: int, sums: Sequence[int], rows: bytes, index: int) -> int:
    """What the section returns, in Python (its specification, for tests): ``sums`` the groups'
    packed sums, ``rows`` the query's bytes; ValueError where the kernel reverts."""
    return trace(words, groups, sums, rows, index)[0]


def trace(words: Sequence[int], groups: int, sums: Sequence[int], rows: bytes,
          index: int) -> tuple[int, int, np.ndarray | None]:
    """:func:`status` with where it stopped: (status, layer, value), the value being what the
    layer's row should hold at the query's position (LAYER_MISMATCH) or what the final
    polynomial's constant coefficient is short of (FINAL_MISMATCH); the tests build accepting
    instances from it."""
    log_max, mask1, nl, final_shift, nfp = words[:HEAD_WORDS]
    final = np.array([F.unpack(c) for c in words[HEAD_WORDS: HEAD_WORDS + nfp]], dtype=np.uint32)
    at = HEAD_WORDS + nfp
    recs = [words[at + GROUP_WORDS * g: at + GROUP_WORDS * (g + 1)] for g in range(groups)]
    dens = [field.ext_sub(field.ext_from_base(np.uint32(_point(GENERATOR, index >> (log_max - h), h))), _ext(z))
            for h, z, _ in recs]
    if any(not np.any(d) for d in dens):
        return ZERO_DENOMINATOR, 0, None
    zero = np.zeros(4, np.uint32)
    red: dict[int, np.ndarray] = {}
    for (h, _, v), s, d in zip(recs, sums, dens):
        t = field.ext_mul(field.ext_sub(_ext(s), _ext(v)), field.ext_inv(d))
        red[h] = field.ext_add(red.get(h, zero), t)
    if mask1:
        red[log_max] = field.ext_add(red.get(log_max, zero), _ext_le(rows, mask1 - 1))
    cur, lh, idx = red.get(log_max, zero), log_max, index
    at += GROUP_WORDS * groups
    for i in range(nl):
        k, row_at, coset_inv, roll, beta = words[at + LAYER_WORDS * i: at + LAYER_WORDS * i + 5]
        row = np.array([_ext_le(rows, row_at + 16 * j) for j in range(1 << k)], dtype=np.uint32)
        if not np.array_equal(row[idx & ((1 << k) - 1)], cur):
            return LAYER_MISMATCH, i, cur
        idx >>= k
        cur = fri._fold_rows(row[None], np.array([idx]), lh, k, _ext(beta), pow(coset_inv, P - 2, P))[0]
        lh -= k
        if lh != log_max and lh in red:
            cur = field.ext_add(cur, field.ext_mul(red[lh], _ext(roll)))
    x = _point(final_shift, idx, lh)
    value = fri._eval_poly_at(final, np.array([x], dtype=np.uint32))[0]
    if not np.array_equal(value, cur):
        return FINAL_MISMATCH, nl, field.ext_sub(cur, value)
    return OK, nl, None
