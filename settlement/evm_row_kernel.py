"""The row kernel: EVM assembly for a query's hottest work, its DEEP sums and Merkle openings.

Why: at every FRI query the verifier combines the opened row of every committed matrix
(about 2,500 BabyBear values for a zkMIPS segment proof) with the powers of the DEEP
challenge alpha, ``sum_c alpha^c v_c``, and sums those combinations per (height, point)
group, each times its slot's offset. In Vyper that cost about 260 gas a column, most of it
array bounds checks and memory-resident locals; here it is scheduled by hand on the stack
(about 70 gas a column in full words). Then it climbs every Merkle opening of the query
(keccak pairs in scratch memory, the siblings read in place) to the roots the caller
compares with its commitments. ``queries.vy`` calls it once per query, and ``ood.vy`` once
per proof for the opened values' sums (whose extension values are rows of base values whose
coefficients are alpha^c X^j; no openings).

Input (no selector): a word, the calldata offset of the rows; a word, the query's index;
then the ABI encoding of ``(uint256[] powers, uint256[] mats, uint256[] slots, uint256 groups,
uint256[] walk, uint256[] fri)`` (:func:`input_head`); then the rows (the query's bytes).

* ``powers[c]``: the coefficient of a row's column c (alpha^c), packed as in ``babybear.vy``
  (coefficient i in bits [64i, 64i + 64));
* ``mats[m]``: :func:`mat_record`: where matrix m's row lies (``width`` little-endian u32
  values), its first slot and its number of slots (points);
* ``slots``: five words per slot (:func:`slot_record`): its group and its offset o as
  o, X o, X^2 o, X^3 o (so that c * o is four MULs by c's coefficients);
* ``walk``: per Merkle opening to climb, a header (:func:`walk_header`) and a record per
  height group (:func:`group_record`);
* ``fri``: what the last section (:mod:`settlement.evm_deep_fri`) needs for the query's DEEP
  quotient and FRI folds, or nothing (``ood.vy``'s call).

Output: per group, ``sum over its slots s: o_s * sum_c powers[c] * v_{m(s),c}``, packed;
then per opening of the walk, the root it climbs to (:func:`walk_roots`); then, when ``fri``
is given, the last section's status word (:func:`settlement.evm_deep_fri.status`).

A row's values are summed with one MUL each by a packed power (all four products, each
below p^2 < 2^62, four of them below 2^64 in 64-bit lanes), spread every four columns into
128-bit lanes, and reduced once per row. Every value is checked canonical (below p), eight at
a time; a non-canonical value reverts (with no reason: the caller names it).
"""

from __future__ import annotations

from typing import Sequence

from eth_abi import encode

from prover.keccak import keccak256
from settlement import evm_deep_fri
from settlement import evm_field_asm as F
from settlement.evm_asm import Item, Label, Push, PushLabel, assemble
from settlement.evm_field_asm import LANES_02, M32, M128, P, bswap32x8, check_canonical8, mod_p

#: Bytes of a query blob passed to the kernel per query (``queries.vy`` ROW_WINDOW, checked
#: equal by the tests): a query's bytes must fit in it.
ROW_WINDOW = 32768
#: Bytes of a slot record (group, then the offset times 1, X, X^2, X^3).
SLOT_BYTES = 160
#: Where the ABI-encoded part of the input starts (after the rows' offset and the query index).
ABI = 64
# memory: the groups' sums (64 bytes each, then packed in place), the walk's group digests
# and levels, its variables, and a scratch area for hashing (a leaf's rows, a pair of nodes)
INJ, INJL = 0x1000, 0x1800
RB, IDX, TL, RI, SIB, NEXT, J, NG2 = (0x1F00 + 0x20 * k for k in range(8))
SCR = 0x2000


def _lane(y_depth: int, lane: int) -> list[Item]:
    """Push value ``lane`` (0 = most significant) of the swapped word at stack depth ``y_depth``."""
    out: list[Item] = [f"DUP{y_depth}"]
    if lane != 7:
        out += [Push(224 - 32 * lane), "SHR"]
    if lane != 0:
        out += [Push(M32), "AND"]
    return out


def _spread(s02_depth: int) -> list[Item]:
    """[t, ...] -> [...], adding t's 64-bit lanes 0, 2 to s02 and 1, 3 to s13 (s13 just below
    s02; ``s02_depth`` counts t as 1)."""
    d = s02_depth
    return ["DUP1", Push(LANES_02), "AND", f"DUP{d + 1}", "ADD", f"SWAP{d}", "POP",
            Push(64), "SHR", Push(LANES_02), "AND", f"DUP{d + 1}", "ADD", f"SWAP{d}", "POP"]


#: A row's last columns are read as one masked word when at least this many are left, one by
#: one otherwise (a word costs about four single columns).
TAIL_BY_WORD = 4


def _eight_columns() -> list[Item]:
    """[y, tp, p, s02, s13, ...] -> [y, tp, p, s02', s13', ...]: the eight values of the swapped
    word y (value 0 the most significant) times the powers at tp .. tp + 7, spread into the
    row's sums (one MUL each)."""
    out: list[Item] = []
    for group in (0, 4):
        out += [*_lane(1, group), "DUP3"]                   # [tp, v, y, tp, ...]
        if group:
            out += [Push(32 * group), "ADD"]
        out += ["CALLDATALOAD", "MUL"]                      # [t, y, tp, p, s02, s13, ...]
        for lane in range(group + 1, group + 4):
            out += [*_lane(2, lane), "DUP4", Push(32 * lane), "ADD", "CALLDATALOAD", "MUL", "ADD"]
        out += _spread(5)                                   # [y, tp, p, s02, s13, w, ...]
    return out


def program() -> list[Item]:
    """The kernel. Stack comments list the top first."""
    p: list[Item] = [
        "PUSH0", "CALLDATALOAD", Push(RB), "MSTORE",        # the rows' offset
        Push(32), "CALLDATALOAD", Push(IDX), "MSTORE",      # the query's index
        Push(ABI + 96), "CALLDATALOAD",                     # [ng]
        Push(ABI + 64), "CALLDATALOAD", Push(ABI + 32), "ADD",   # [sp0, ng]      slot records
        Push(RB), "MLOAD",                                  # [rp, sp0, ng]
        Push(ABI), "CALLDATALOAD", Push(ABI + 32), "ADD",   # [tp0, rp, sp0, ng]   powers
        "SWAP1",                                            # [rp, tp0, sp0, ng]
        Push(ABI + 32), "CALLDATALOAD", Push(ABI), "ADD",   # [mlen_at, rp, ...]
        "DUP1", "CALLDATALOAD", Push(5), "SHL",             # [32M, mlen_at, ...]
        "SWAP1", Push(32), "ADD",                           # [mp, 32M, rp, tp0, sp0, ng]
        "SWAP1", "DUP2", "ADD", "SWAP1",                    # [mp, mend, rp, tp0, sp0, ng]
        Label("matrix"),
        "DUP2", "DUP2", "LT", "ISZERO", PushLabel("done"), "JUMPI",
        "DUP1", "CALLDATALOAD",                             # [e, mp, mend, rp, tp0, sp0, ng]
        "DUP1", Push(0xFFFF), "AND", "SWAP1",               # [e, w, mp, ...]
        Push(40), "SHR", "DUP5", "ADD",                     # [p, w, mp, mend, rp, tp0, sp0, ng]
        "PUSH0", "SWAP1", "PUSH0", "SWAP1", "DUP8",         # [tp, p, s02, s13, w, mp, ...]
        Label("word"),
        Push(8), "DUP6", "LT", PushLabel("tail"), "JUMPI",  # fewer than 8 columns left
        "DUP2", "CALLDATALOAD", *bswap32x8(), *check_canonical8(),  # [y, tp, p, s02, s13, w, ...]
        *_eight_columns(),
        "POP", Push(256), "ADD",                            # tp += 8 powers
        "SWAP1", Push(32), "ADD", "SWAP1",                  # p += 8 values
        "SWAP4", Push(8), "SWAP1", "SUB", "SWAP4",          # w -= 8
        PushLabel("word"), "JUMP",
        Label("tail"),                                      # [tp, p, s02, s13, w, ...]
        "DUP5", "ISZERO", PushLabel("reduce"), "JUMPI",
        Push(TAIL_BY_WORD), "DUP6", "LT", PushLabel("tail1"), "JUMPI",
        # w of 4..7 columns left: one word with the values past them masked to zero (those
        # lanes then add nothing, whatever powers they meet), then the row is done
        "DUP2", "CALLDATALOAD", *bswap32x8(),               # [y, tp, p, s02, s13, w, ...]
        "DUP6", Push(5), "SHL", Push(1), "DUP2", "SHL", Push(1), "SWAP1", "SUB",   # [2^32w - 1, 32w, y]
        "SWAP1", Push(256), "SUB", "SHL", "AND",            # [y's first w values]
        *check_canonical8(), *_eight_columns(),
        "POP", "SWAP4", "POP", "PUSH0", "SWAP4",            # w = 0
        PushLabel("reduce"), "JUMP",
        Label("tail1"),                                     # one column at a time
        "DUP2", "CALLDATALOAD", *bswap32x8(), Push(224), "SHR",    # [v, tp, ...]
        Push(P), "DUP2", "LT", "ISZERO", PushLabel("bad"), "JUMPI",
        "DUP2", "CALLDATALOAD", "MUL",                      # [t, tp, p, s02, s13, w, ...]
        *_spread(4),
        Push(32), "ADD", "SWAP1", Push(4), "ADD", "SWAP1",  # tp += 1 power, p += 1 value
        "SWAP4", Push(1), "SWAP1", "SUB", "SWAP4",          # w -= 1
        PushLabel("tail"), "JUMP",
        # the row's combination c = c0 + c1 X + c2 X^2 + c3 X^3, reduced
        Label("reduce"),                                    # [tp, p, s02, s13, 0, mp, ...]
        "POP", "POP", "SWAP2", "POP", "SWAP1",              # [s02, s13, mp, mend, rp, tp0, sp0, ng]
        "DUP2", Push(128), "SHR", *mod_p(),                # [c3, s02, s13, ...]
        "DUP2", Push(128), "SHR", *mod_p(),                # [c2, c3, s02, s13, ...]
        "DUP4", Push(M128), "AND", *mod_p(),               # [c1, c2, c3, s02, s13, ...]
        "DUP4", Push(M128), "AND", *mod_p(),               # [c0, c1, c2, c3, s02, s13, mp, ..., sp0, ng]
        # its slots: acc[g] += c * o, with o's rotations X^t o given (one MUL per coefficient)
        "DUP7", "CALLDATALOAD",                             # [e, c0, ...]
        "DUP1", Push(16), "SHR", Push(0xFF), "AND", Push(SLOT_BYTES), "MUL",
        "SWAP1", Push(24), "SHR", Push(0xFFFF), "AND", Push(SLOT_BYTES), "MUL",
        "DUP13", "ADD",                                     # [sptr, nb, c0, c1, c2, c3, s02, s13, mp, ...]
        "SWAP1", "DUP2", "ADD", "SWAP1",                    # [sptr, send, c0, ...]
        "DUP2", "DUP2", "LT", "ISZERO", PushLabel("next"), "JUMPI",
        Label("slot"),
        "DUP1", Push(32), "ADD", "CALLDATALOAD", "DUP4", "MUL",                 # c0 * o
        "DUP2", Push(64), "ADD", "CALLDATALOAD", "DUP6", "MUL", "ADD",          # + c1 * X o
        "DUP2", Push(96), "ADD", "CALLDATALOAD", "DUP7", "MUL", "ADD",          # + c2 * X^2 o
        "DUP2", Push(128), "ADD", "CALLDATALOAD", "DUP8", "MUL", "ADD",         # + c3 * X^3 o: [t, sptr, ...]
        "DUP2", "CALLDATALOAD", Push(6), "SHL",             # [ga, t, ...]   acc02[g] at 64 g
        "DUP2", Push(LANES_02), "AND", "DUP2", "MLOAD", "ADD", "DUP2", "MSTORE",
        Push(32), "ADD", "SWAP1", Push(64), "SHR", Push(LANES_02), "AND",  # [t13, ga + 32, ...]
        "DUP2", "MLOAD", "ADD", "SWAP1", "MSTORE",          # acc13[g] at 64 g + 32
        Push(SLOT_BYTES), "ADD",
        "DUP2", "DUP2", "LT", PushLabel("slot"), "JUMPI",
        Label("next"),
        "POP", "POP", "POP", "POP", "POP", "POP", "POP", "POP",  # [mp, mend, rp, tp0, sp0, ng]
        Push(32), "ADD",
        PushLabel("matrix"), "JUMP",
        # every group's sums reduced and packed: out[g] at 32 g (below what is still read)
        Label("done"),
        "POP", "POP", "POP", "POP", "POP", "PUSH0",         # [g, ng]
        Label("pack"),
        "DUP2", "DUP2", "LT", "ISZERO", PushLabel("return"), "JUMPI",
        "DUP1", Push(6), "SHL", "MLOAD",                    # [a02, g, ng]
        "DUP2", Push(6), "SHL", Push(32), "ADD", "MLOAD",   # [a13, a02, g, ng]
        "DUP1", Push(128), "SHR", *mod_p(), Push(192), "SHL",
        "DUP3", Push(128), "SHR", *mod_p(), Push(128), "SHL", "OR",
        "SWAP1", Push(M128), "AND", *mod_p(), Push(64), "SHL", "OR",
        "SWAP1", Push(M128), "AND", *mod_p(), "OR",        # [x, g, ng]
        "DUP2", Push(5), "SHL", "MSTORE",
        Push(1), "ADD",
        PushLabel("pack"), "JUMP",
        Label("return"),
        "POP", Push(5), "SHL",                              # [rout]  the roots follow the sums
        *_walk(),
        *evm_deep_fri.program(ABI, RB, IDX),
        "PUSH0", "RETURN",
        Label("bad"),
        "PUSH0", "PUSH0", "REVERT",
        *evm_deep_fri.tables(),
    ]
    return p


def _walk() -> list[Item]:
    """[rout] -> [rout + 32 * rounds]: per round of the walk records, the Merkle root its
    opening climbs to (written at rout): every height group's digest (keccak of its rows and
    salt), the first one the leaf, the others injected at their levels (prover/merkle.py's
    mixed-height tree), the siblings read in place. Reverts when an injection is left over."""
    top = (1 << 256) - 1
    return [
        Push(ABI + 128), "CALLDATALOAD", Push(ABI), "ADD",  # [wlen_at, rout]
        "DUP1", "CALLDATALOAD", Push(5), "SHL",             # [32L, wlen_at, rout]
        "SWAP1", Push(32), "ADD", "SWAP1", "DUP2", "ADD", "SWAP1",   # [wp, wend, rout]
        Label("round"),
        "DUP2", "DUP2", "LT", "ISZERO", PushLabel("walked"), "JUMPI",
        "DUP1", "CALLDATALOAD",                             # [A, wp, wend, rout]
        "DUP1", Push(0xFF), "AND", Push(TL), "MSTORE",
        Push(IDX), "MLOAD", "DUP2", Push(8), "SHR", Push(0xFF), "AND", "SHR", Push(RI), "MSTORE",
        "DUP1", Push(32), "SHR", Push(RB), "MLOAD", "ADD", Push(SIB), "MSTORE",
        Push(16), "SHR", Push(0xFFFF), "AND",               # [ng2, wp, wend, rout]
        "DUP1", Push(NG2), "MSTORE",
        "SWAP1", Push(32), "ADD",                           # [gp, ng2, wend, rout]
        "PUSH0",                                            # [j, gp, ng2, wend, rout]
        Label("group"),
        "DUP3", "DUP2", "LT", "ISZERO", PushLabel("climb0"), "JUMPI",
        "DUP1", Push(5), "SHL", "DUP3", "ADD", "CALLDATALOAD",  # [G, j, gp, ...]
        "DUP1", Push(0xFFFF), "AND", "DUP3", Push(5), "SHL", Push(INJL), "ADD", "MSTORE",
        "DUP1", Push(16), "SHR", Push((1 << 48) - 1), "AND",    # [len, G, j, ...]
        "SWAP1", Push(64), "SHR", Push(RB), "MLOAD", "ADD",     # [src, len, j, ...]
        "DUP2", "SWAP1", Push(SCR), "CALLDATACOPY",         # [len, j, ...]
        Push(SCR), "KECCAK256",                             # [digest, j, ...]
        "DUP2", Push(5), "SHL", Push(INJ), "ADD", "MSTORE",
        Push(1), "ADD", PushLabel("group"), "JUMP",
        Label("climb0"),                                    # [ng2, gp, ng2, wend, rout]
        "POP", "SWAP1", Push(5), "SHL", "ADD",              # [wp', wend, rout]
        Push(1), Push(J), "MSTORE",
        Push(top), Push(NEXT), "MSTORE",
        Push(NG2), "MLOAD", Push(1), "LT", "ISZERO", PushLabel("leaf"), "JUMPI",
        Push(INJL + 32), "MLOAD", Push(NEXT), "MSTORE",
        Label("leaf"),
        "PUSH0", Push(INJ), "MLOAD",                        # [node, k, wp', wend, rout]
        Label("climb"),
        Push(TL), "MLOAD", "DUP3", "LT", "ISZERO", PushLabel("climbed"), "JUMPI",
        "DUP2", Push(5), "SHL", Push(SIB), "MLOAD", "ADD", "CALLDATALOAD",   # [s, node, k]
        Push(RI), "MLOAD", "DUP4", "SHR", Push(1), "AND", PushLabel("right"), "JUMPI",
        Push(SCR + 32), "MSTORE", "DUP1", Push(SCR), "MSTORE",   # node || sibling
        PushLabel("hash"), "JUMP",
        Label("right"),
        Push(SCR), "MSTORE", "DUP1", Push(SCR + 32), "MSTORE",   # sibling || node
        Label("hash"),
        "POP", Push(64), Push(SCR), "KECCAK256",            # [node, k, ...]
        "DUP2", Push(NEXT), "MLOAD", "EQ", "ISZERO", PushLabel("stepped"), "JUMPI",
        Push(SCR), "MSTORE",                                # node || the next group's digest
        Push(J), "MLOAD", "DUP1", Push(5), "SHL", Push(INJ), "ADD", "MLOAD", Push(SCR + 32), "MSTORE",
        Push(1), "ADD", "DUP1", Push(J), "MSTORE",          # [j + 1, k, ...]
        Push(top), Push(NEXT), "MSTORE",
        "DUP1", Push(NG2), "MLOAD", "GT", "ISZERO", PushLabel("last"), "JUMPI",
        "DUP1", Push(5), "SHL", Push(INJL), "ADD", "MLOAD", Push(NEXT), "MSTORE",
        Label("last"),
        "POP", Push(64), Push(SCR), "KECCAK256",
        Label("stepped"),
        "SWAP1", Push(1), "ADD", "SWAP1",                   # k += 1
        PushLabel("climb"), "JUMP",
        Label("climbed"),                                   # [node, k, wp', wend, rout]
        Push(NG2), "MLOAD", Push(J), "MLOAD", "EQ", "ISZERO", PushLabel("bad"), "JUMPI",
        "DUP5", "MSTORE", "POP",                            # [wp', wend, rout]
        "SWAP2", Push(32), "ADD", "SWAP2",
        PushLabel("round"), "JUMP",
        Label("walked"),
        "POP", "POP",                                       # [rout]
    ]


def runtime_code() -> bytes:
    return assemble(program())


def slot_record(group: int, offset: int) -> list[int]:
    """A slot's five words: its group, and its offset o times 1, X, X^2, X^3, packed."""
    words, o = [group], F.unpack(offset)
    for t in range(4):
        words.append(sum(v << (64 * i) for i, v in enumerate(o)))
        o = [(11 * o[3]) % P, o[0], o[1], o[2]]
    return words


def mat_record(offset: int, first_slot: int, points: int, width: int) -> int:
    """A matrix's word: its row at byte ``offset`` of the query, its slots, its width."""
    return offset << 40 | first_slot << 24 | points << 16 | width


def group_sums(powers: Sequence[int], mats: Sequence[int], slots: Sequence[int], groups: int,
               rows: bytes) -> list[int]:
    """What the kernel returns, in Python (its specification, for tests): per group g, the
    packed ``sum over the slots s of g: offset_s * sum_c alpha^c v_{m(s),c}``. ``rows`` is
    the query's bytes (offsets count from its start); ValueError where the kernel reverts."""
    acc = [[0] * 4 for _ in range(groups)]
    for e in mats:
        off, first, points, width = e >> 40, (e >> 24) & 0xFFFF, (e >> 16) & 0xFF, e & 0xFFFF
        comb = [0] * 4
        for c in range(width):
            v = int.from_bytes(rows[off + 4 * c: off + 4 * c + 4].ljust(4, b"\0"), "little")
            if v >= P:
                raise ValueError("non-canonical field element")
            comb = [(x + v * a) % P for x, a in zip(comb, F.unpack(powers[c]))]
        for s in range(first, first + points):
            g = slots[5 * s]
            acc[g] = [(x + y) % P for x, y in zip(acc[g], F.ext_mul(comb, F.unpack(slots[5 * s + 1])))]
    return [sum(v << (64 * i) for i, v in enumerate(a)) for a in acc]


#: The ABI types of the kernel's per-proof input (see the module's docstring).
HEAD_TYPES = ("uint256[]", "uint256[]", "uint256[]", "uint256", "uint256[]", "uint256[]")


def input_head(powers: Sequence[int], mats: Sequence[int], slots: Sequence[int], groups: int,
               walk: Sequence[int] = (), fri: Sequence[int] = ()) -> bytes:
    """The per-proof part of the kernel's input, ABI-encoded as ``queries.vy`` and ``ood.vy``
    encode it (``fri``: :func:`settlement.evm_deep_fri.fri_words`, or none)."""
    return encode(HEAD_TYPES, [list(powers), list(mats), list(slots), groups, list(walk), list(fri)])


def calldata(prefix: bytes, rows: bytes, start: int = 0, index: int = 0) -> bytes:
    """The kernel's input: the calldata offset of the query's rows (``start`` bytes into
    ``rows``), the query's index, the per-proof prefix (``abi_encode(powers, mats, slots,
    groups, walk)``), the rows."""
    return (ABI + len(prefix) + start).to_bytes(32, "big") + index.to_bytes(32, "big") + prefix + rows


def walk_roots(rows: bytes, walk: Sequence[int], index: int) -> list[bytes]:
    """The roots the kernel's walk climbs to, in Python (its specification, for tests):
    ``walk`` per round a header (:func:`walk_header`) and a record per height group
    (:func:`group_record`), offsets into ``rows``; ValueError where the kernel reverts."""
    roots, at = [], 0
    while at < len(walk):
        head = walk[at]
        tl, shift, groups, sib = head & 0xFF, (head >> 8) & 0xFF, (head >> 16) & 0xFFFF, head >> 32
        recs = walk[at + 1: at + 1 + groups]
        at += 1 + groups
        digests = [keccak256(rows[g >> 64: (g >> 64) + ((g >> 16) & ((1 << 48) - 1))]) for g in recs]
        levels = [g & 0xFFFF for g in recs]
        node, j, ri = digests[0], 1, index >> shift
        for k in range(tl):
            s = rows[sib + 32 * k: sib + 32 * k + 32].ljust(32, b"\0")
            node = keccak256(s + node) if (ri >> k) & 1 else keccak256(node + s)
            if j < groups and k == levels[j]:
                node = keccak256(node + digests[j])
                j += 1
        if j != groups:
            raise ValueError("an injection is left over")
        roots.append(node)
    return roots


def walk_header(tree_levels: int, index_shift: int, groups: int, siblings_at: int) -> int:
    """A round's walk header: its tree's height, the query index's shift to its height, its
    number of height groups, where its siblings start."""
    return siblings_at << 32 | groups << 16 | index_shift << 8 | tree_levels


def group_record(offset: int, length: int, level: int) -> int:
    """A height group's walk record: its bytes (rows and salt) and its injection level."""
    return offset << 64 | length << 16 | level
