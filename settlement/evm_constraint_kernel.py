"""The constraint kernel: the interpreter of the AIR's constraint programs, in EVM assembly.

Why: ``begin`` evaluates every table's constraints at the out-of-domain point by
interpreting the table's program (settlement/evm_air.py: ~11,000 expression nodes for a
zkMIPS segment). Interpreted in Vyper that cost ~730 gas a node, most of it dispatch through
a chain of comparisons, bounds checks and memory-resident locals; here a jump table
dispatches and the field arithmetic is inlined (settlement/evm_field_asm.py). ``ood.vy``
calls it once per proof for all tables.

Input: the ABI encoding of ``(z, beta, alpha, uint256[] tables, bytes opened, bytes head)``,
no selector. Per table, twelve words (:func:`table_record`): the address of its program's
code contract, then where its values lie: ``pre_at, pre_w, main_at, main_w, perm_at,
perm_w`` (byte offsets into ``opened`` and row widths, as ``ood.vy`` computes them),
``pub_at, sum_at`` (byte offsets into ``head``), and the three selector values.

Output: per table, ``sum_i alpha^i C_i(zeta)`` (packed). A non-canonical opened value, an
unknown challenge or opcode reverts.
"""

from __future__ import annotations

from settlement import evm_field_asm as F
from settlement.evm_asm import Item, Label, Push, PushJumpTable, PushLabel, assemble

# memory: the table's context, the outputs, the program, the node values
OPENED, HEAD, Z, BETA = 0x00, 0x20, 0x40, 0x60
ALPHA, ALPHA_X, ALPHA_X2, ALPHA_X3 = 0x80, 0xA0, 0xC0, 0xE0
PRE_AT, PRE_W, MAIN_AT, MAIN_W, PERM_AT, PERM_W, PUB_AT, SUM_AT, SEL0 = (0x100 + 0x20 * k for k in range(9))
EC_AT = 0x260
OUT = 0x300
PROG = 0x700
VALS = 0x5800
#: A table's record: the program's address, then these (offsets relative to ``opened`` or ``head``).
RECORD_FIELDS = (("pre_at", PRE_AT, OPENED), ("pre_w", PRE_W, None), ("main_at", MAIN_AT, OPENED),
                 ("main_w", MAIN_W, None), ("perm_at", PERM_AT, OPENED), ("perm_w", PERM_W, None),
                 ("pub_at", PUB_AT, HEAD), ("sum_at", SUM_AT, HEAD),
                 ("sel0", SEL0, None), ("sel1", SEL0 + 0x20, None), ("sel2", SEL0 + 0x40, None))
RECORD_WORDS = 1 + len(RECORD_FIELDS)
HANDLERS = ("main", "pre", "perm", "selector", "const", "public", "challenge", "ext_public",
            "ext_const", "neg", "add", "sub", "mul")


def _field(shift: int, mask: int) -> list[Item]:
    """[w] -> [(w >> shift) & mask]."""
    return [Push(shift), "SHR", Push(mask), "AND"]


def _vals_load() -> list[Item]:
    """[node index] -> [its value]."""
    return [Push(5), "SHL", Push(VALS), "ADD", "MLOAD"]


def _column(at: int, width: int, ext_cols: bool) -> list[Item]:
    """[w] -> [calldata offset of the opened value w names]: at + 16 (is_next * width + col),
    col counted in extension columns (four base columns each) when ``ext_cols``."""
    col = [*_field(232, 0xFFFF)] + ([Push(2), "SHL"] if ext_cols else [])
    return ["DUP1", *col, "SWAP1", *_field(224, 0xFF), Push(width), "MLOAD", "MUL", "ADD",
            Push(4), "SHL", Push(at), "MLOAD", "ADD"]


def _recombine2() -> list[Item]:
    """[a, b] -> [sum_t v_t X^t] for the four extension values v0 v1 (a) v2 v3 (b), each four
    coefficients (lane k of a word: k = 0 the most significant); prover/stark.py _recombine_ext."""
    terms = {  # coefficient m: (word, lane, times W)
        3: [("a", 3, 0), ("a", 6, 0), ("b", 1, 0), ("b", 4, 0)],
        2: [("a", 2, 0), ("a", 5, 0), ("b", 0, 0), ("b", 7, 1)],
        1: [("a", 1, 0), ("a", 4, 0), ("b", 3, 1), ("b", 6, 1)],
        0: [("a", 0, 0), ("a", 7, 1), ("b", 2, 1), ("b", 5, 1)],
    }
    out: list[Item] = []
    extra = 0                                   # items above a, b
    for m in (3, 2, 1, 0):
        for n, (word, lane, times_w) in enumerate(terms[m]):
            depth = extra + (1 if word == "a" else 2)
            out.append(f"DUP{depth}")
            if lane != 7:
                out += [Push(224 - 32 * lane), "SHR"]
            if lane != 0:
                out += [Push(F.M32), "AND"]
            if times_w:
                out += [Push(F.W), "MUL"]
            if n:
                out.append("ADD")
            else:
                extra += 1
        out += [*F.mod_p(), Push(64 * m), "SHL"] if m else F.mod_p()
        if m != 3:
            out.append("OR")
            extra -= 1
    return out + ["SWAP2", "POP", "POP"]        # [r, a, b] -> [r]


def _handler(name: str) -> list[Item]:
    """Node handler: [w, i, ...] -> [v, i, ...]."""
    if name in ("main", "pre"):
        at, width = (MAIN_AT, MAIN_W) if name == "main" else (PRE_AT, PRE_W)
        return [*_column(at, width, False), "CALLDATALOAD", *F.ext_le()]
    if name == "perm":
        return [*_column(PERM_AT, PERM_W, True),
                "DUP1", Push(32), "ADD", "CALLDATALOAD", *F.bswap32x8(), *F.check_canonical8(),
                "SWAP1", "CALLDATALOAD", *F.bswap32x8(), *F.check_canonical8(), *_recombine2()]
    if name == "selector":
        return [*_field(240, 0xFF), Push(5), "SHL", Push(SEL0), "ADD", "MLOAD"]
    if name == "const":
        return _field(216, F.M32)
    if name == "public":
        return [*_field(232, 0xFFFF), Push(2), "SHL", Push(PUB_AT), "MLOAD", "ADD", "CALLDATALOAD", *F.base_le()]
    if name == "challenge":
        return [*_field(232, 0xFFFF), "DUP1", Push(1), "LT", PushLabel("bad"), "JUMPI",
                Push(5), "SHL", Push(Z), "ADD", "MLOAD"]
    if name == "ext_public":
        return [*_field(232, 0xFFFF), Push(4), "SHL", Push(SUM_AT), "MLOAD", "ADD", "CALLDATALOAD", *F.ext_le()]
    if name == "ext_const":                     # four big-endian u32 coefficients
        return [*_field(232, 0xFFFF), Push(4), "SHL", Push(EC_AT), "MLOAD", "ADD", "MLOAD",
                "DUP1", Push(224), "SHR",
                "DUP2", Push(192), "SHR", Push(F.M32), "AND", Push(64), "SHL", "OR",
                "DUP2", Push(160), "SHR", Push(F.M32), "AND", Push(128), "SHL", "OR",
                "SWAP1", Push(128), "SHR", Push(F.M32), "AND", Push(192), "SHL", "OR"]
    if name == "neg":
        return [*_field(232, 0xFFFF), *_vals_load(), Push(F.PP), "SUB", *F.reduce_once()]
    if name == "add":
        return ["DUP1", *_field(232, 0xFFFF), *_vals_load(), "SWAP1", *_field(216, 0xFFFF), *_vals_load(),
                "ADD", *F.reduce_once()]
    if name == "sub":
        return ["DUP1", *_field(232, 0xFFFF), *_vals_load(), Push(F.PP), "ADD",
                "SWAP1", *_field(216, 0xFFFF), *_vals_load(), "SWAP1", "SUB", *F.reduce_once()]
    if name == "mul":
        return ["DUP1", *_field(232, 0xFFFF), *_vals_load(), "SWAP1", *_field(216, 0xFFFF), *_vals_load(),
                *F.ext_product()]
    raise ValueError(name)


def program() -> list[Item]:
    """The kernel. Stack comments list the top first."""
    p: list[Item] = [
        "PUSH0", "CALLDATALOAD", Push(Z), "MSTORE",
        Push(32), "CALLDATALOAD", Push(BETA), "MSTORE",
        Push(64), "CALLDATALOAD", *F.ext_rotations(),       # [a1, a2, a3, alpha]
        Push(ALPHA_X), "MSTORE", Push(ALPHA_X2), "MSTORE", Push(ALPHA_X3), "MSTORE", Push(ALPHA), "MSTORE",
        Push(128), "CALLDATALOAD", Push(32), "ADD", Push(OPENED), "MSTORE",
        Push(160), "CALLDATALOAD", Push(32), "ADD", Push(HEAD), "MSTORE",
        Push(96), "CALLDATALOAD", "DUP1", "CALLDATALOAD",    # [len, off]
        "SWAP1", Push(32), "ADD",                           # [tp, len]
        "SWAP1", Push(5), "SHL", "DUP2", "ADD", "SWAP1",    # [tp, tend]
        Push(OUT),                                          # [op, tp, tend]
        Label("table"),
        "DUP3", "DUP3", "LT", "ISZERO", PushLabel("finish"), "JUMPI",
        "DUP2", "CALLDATALOAD",                             # [code, op, tp, tend]
    ]
    for k, (_, slot, base) in enumerate(RECORD_FIELDS, start=1):
        p += ["DUP3", Push(32 * k), "ADD", "CALLDATALOAD"]
        if base is not None:
            p += [Push(base), "MLOAD", "ADD"]
        p += [Push(slot), "MSTORE"]
    p += [
        # the program: its header, then all of it (records, roots, extension constants, 32 zero bytes)
        Push(32), Push(1), Push(PROG), "DUP4", "EXTCODECOPY",
        Push(PROG), "MLOAD",                                # [hw, code, ...]
        "DUP1", Push(240), "SHR",                           # [nn, hw, code]
        "DUP2", *_field(224, 0xFFFF),                       # [nr, nn, hw, code]
        "DUP3", *_field(208, 0xFFFF),                       # [ne, nr, nn, hw, code]
        "DUP3", Push(3), "SHL", Push(8), "ADD", "DUP3", Push(1), "SHL", "ADD",   # [rend, ne, nr, nn, hw, code]
        "DUP1", Push(PROG), "ADD", Push(EC_AT), "MSTORE",
        "SWAP1", Push(4), "SHL", "ADD", Push(32), "ADD",    # [len, nr, nn, hw, code, op, tp, tend]
        Push(1), Push(PROG), "DUP7",                        # [code, PROG, 1, len, nr, nn, hw, code, ...]
        "EXTCODECOPY",                                      # [nr, nn, hw, code, op, tp, tend]
        "SWAP2", "POP", "SWAP2", "POP", "SWAP1",            # [nn, nr, op, tp, tend]
        "PUSH0",                                            # [i, nn, nr, op, tp, tend]
        Label("node"),
        "DUP2", "DUP2", "LT", "ISZERO", PushLabel("roots"), "JUMPI",
        "DUP1", Push(3), "SHL", Push(PROG + 8), "ADD", "MLOAD",    # [w, i, ...]
        PushJumpTable(HANDLERS), "DUP2", Push(248), "SHR", Push(4), "SHL", "SHR", Push(0xFFFF), "AND", "JUMP",
    ]
    for name in HANDLERS:
        p += [Label(name), *_handler(name),                 # [v, i, ...]
              "DUP2", Push(5), "SHL", Push(VALS), "ADD", "MSTORE", Push(1), "ADD", PushLabel("node"), "JUMP"]
    p += [
        # sum_i alpha^i C_i by Horner from the last root
        Label("roots"),                                     # [nn, nn, nr, op, tp, tend]
        "POP", Push(3), "SHL", Push(PROG + 8), "ADD",       # [rstart, nr, op, tp, tend]
        "SWAP1", "POP", Push(EC_AT), "MLOAD", "PUSH0",      # [acc, rp, rstart, op, tp, tend]
        Label("root"),
        "DUP3", "DUP3", "GT", "ISZERO", PushLabel("folded"), "JUMPI",
        "SWAP1", Push(2), "SWAP1", "SUB", "SWAP1",          # rp -= 2
        Push(ALPHA), "MLOAD", Push(ALPHA_X3), "MLOAD", Push(ALPHA_X2), "MLOAD", Push(ALPHA_X), "MLOAD",
        *F.ext_mul_rotated(5), "SWAP1", "POP",              # [acc * alpha, rp, ...]
        "DUP2", "MLOAD", Push(240), "SHR", *_vals_load(), "ADD", *F.reduce_once(),
        PushLabel("root"), "JUMP",
        Label("folded"),                                    # [acc, rp, rstart, op, tp, tend]
        "DUP4", "MSTORE", "POP", "POP",                     # [op, tp, tend]
        Push(32), "ADD", "SWAP1", Push(32 * RECORD_WORDS), "ADD", "SWAP1",
        PushLabel("table"), "JUMP",
        Label("finish"),                                    # [op, tp, tend]
        Push(OUT), "SWAP1", "SUB", Push(OUT), "RETURN",
        Label("bad"),
        "PUSH0", "PUSH0", "REVERT",
    ]
    return p


def runtime_code() -> bytes:
    return assemble(program())


def table_record(code: str, **fields: int) -> list[int]:
    """A table's twelve words (the keyword names are RECORD_FIELDS')."""
    return [int(code, 16)] + [fields[name] for name, _, _ in RECORD_FIELDS]


# ----------------------------------------------------------------------------- specification
def _le(data: bytes, at: int, n: int) -> list[int]:
    vals = [int.from_bytes(data[at + 4 * k: at + 4 * k + 4].ljust(4, b"\0"), "little") for k in range(n)]
    if any(v >= F.P for v in vals):
        raise ValueError("non-canonical field element")
    return vals


def evaluate(program: bytes, *, z: int, beta: int, alpha: int, opened: bytes, head: bytes, pre_at: int,
             pre_w: int, main_at: int, main_w: int, perm_at: int, perm_w: int, pub_at: int, sum_at: int,
             sel0: int, sel1: int, sel2: int) -> int:
    """What the kernel returns for one table, in Python (its specification, for tests):
    ``program`` in settlement/evm_air.py's format, extension values packed; ValueError where
    the kernel reverts."""
    import struct
    nn, nr, ne, _ = struct.unpack(">HHHH", program[:8])
    rend = 8 + 8 * nn + 2 * nr
    sels = (sel0, sel1, sel2)
    vals: list[list[int]] = []
    for i in range(nn):
        rec = program[8 + 8 * i: 16 + 8 * i]
        op, a, b = rec[0], int.from_bytes(rec[1:3], "big"), int.from_bytes(rec[3:5], "big")
        nx = rec[3]
        if op in (0, 1):
            at, w = (main_at, main_w) if op == 0 else (pre_at, pre_w)
            v = _le(opened, at + 16 * (nx * w + a), 4)
        elif op == 2:
            parts = [_le(opened, perm_at + 16 * (nx * perm_w + 4 * a) + 16 * t, 4) for t in range(4)]
            v = [0] * 4
            for t, part in enumerate(parts):
                xt = [0] * 4
                xt[t] = 1
                v = [(x + y) % F.P for x, y in zip(v, F.ext_mul(part, xt))]
        elif op == 3:
            v = F.unpack(sels[rec[1]])
        elif op == 4:
            v = [int.from_bytes(rec[1:5], "big"), 0, 0, 0]
        elif op == 5:
            v = [_le(head, pub_at + 4 * a, 1)[0], 0, 0, 0]
        elif op == 6:
            if a > 1:
                raise ValueError("unknown challenge")
            v = F.unpack((z, beta)[a])
        elif op == 7:
            v = _le(head, sum_at + 16 * a, 4)
        elif op == 8:
            v = list(struct.unpack(">4I", program[rend + 16 * a: rend + 16 * a + 16]))
        elif op == 9:
            v = [(-x) % F.P for x in vals[a]]
        elif op in (10, 11):
            s = 1 if op == 10 else -1
            v = [(x + s * y) % F.P for x, y in zip(vals[a], vals[b])]
        elif op == 12:
            v = F.ext_mul(vals[a], vals[b])
        else:
            raise ValueError(f"unknown opcode {op}")
        vals.append(v)
    acc = [0] * 4
    for j in reversed(range(nr)):
        r = int.from_bytes(program[8 + 8 * nn + 2 * j: 10 + 8 * nn + 2 * j], "big")
        acc = [(x + y) % F.P for x, y in zip(F.ext_mul(acc, F.unpack(alpha)), vals[r])]
    return F.pack(acc)
