"""BabyBear and its quartic extension as EVM assembly macros, for the assembled kernels.

The packing is ``babybear.vy``'s: an extension element is one word, coefficient i in bits
[64i, 64i + 64), canonical (below p). Each macro is a list of items for
:func:`settlement.evm_asm.assemble` with a stated stack effect (top first). Proof data is
little-endian u32s; the loads check every value canonical and jump to the label ``bad``
(which the kernel defines) where one is not.
"""

from __future__ import annotations

from settlement.evm_asm import Item, Push, PushLabel

P = 2013265921
W = 11                                   # X^4 = W
M32 = (1 << 32) - 1
M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
#: 64-bit lanes 0 and 2 of a word (and, after >> 64, lanes 1 and 3)
LANES_02 = M64 | (M64 << 128)
MASK_BYTES = int("00ff" * 16, 16)
MASK_HALVES = int("0000ffff" * 8, 16)
#: the low 32 bits of each 64-bit lane; 2^32 - p in each; bit 32 of each (proofdata.vy)
EVEN_LANES = int("00000000ffffffff" * 4, 16)
LANE_BIAS = sum(((1 << 32) - P) << (64 * i) for i in range(4))
LANE_CARRIES = sum(1 << (64 * i + 32) for i in range(4))
#: 1 in every 64-bit lane; p in every lane; 2^32 - p in every lane (babybear.vy ONES, PP, K)
ONES = sum(1 << (64 * i) for i in range(4))
PP = P * ONES
K = LANE_BIAS


def bswap32x8() -> list[Item]:
    """[x] -> [x with the bytes of each 32-bit lane reversed] (little-endian values to numbers)."""
    out: list[Item] = []
    for mask, shift in ((MASK_BYTES, 8), (MASK_HALVES, 16)):
        out += ["DUP1", Push(mask), "AND", Push(shift), "SHL",
                "SWAP1", Push(shift), "SHR", Push(mask), "AND", "OR"]
    return out


def check_canonical8() -> list[Item]:
    """[y] -> [y]; jumps to ``bad`` unless all eight 32-bit lanes of y are below p."""
    return ["DUP1", Push(EVEN_LANES), "AND", Push(LANE_BIAS), "ADD",
            "DUP2", Push(32), "SHR", Push(EVEN_LANES), "AND", Push(LANE_BIAS), "ADD", "OR",
            Push(LANE_CARRIES), "AND", PushLabel("bad"), "JUMPI"]


def mod_p() -> list[Item]:
    """[x] -> [x mod p]."""
    return [Push(P), "SWAP1", "MOD"]


def ext_le() -> list[Item]:
    """[word] -> [the extension element in the word's first 16 little-endian bytes]."""
    return [*bswap32x8(), Push(128), "SHR", *check_canonical8(),       # [u]: v0 v1 v2 v3, top first
            "DUP1", Push(96), "SHR",
            "DUP2", Push(64), "SHR", Push(M32), "AND", Push(64), "SHL", "OR",
            "DUP2", Push(32), "SHR", Push(M32), "AND", Push(128), "SHL", "OR",
            "SWAP1", Push(M32), "AND", Push(192), "SHL", "OR"]


def base_le() -> list[Item]:
    """[word] -> [the base element in the word's first 4 little-endian bytes]."""
    return [*bswap32x8(), Push(224), "SHR",
            Push(P), "DUP2", "LT", "ISZERO", PushLabel("bad"), "JUMPI"]


def reduce_once() -> list[Item]:
    """[s] -> [s with p subtracted from every lane at or above p] (lanes below 2p)."""
    return ["DUP1", Push(K), "ADD", Push(32), "SHR", Push(ONES), "AND", Push(P), "MUL", "SWAP1", "SUB"]


def reduce_lanes() -> list[Item]:
    """[t] -> [t's four 64-bit lanes, each mod p]."""
    return ["DUP1", Push(192), "SHR", *mod_p(), Push(192), "SHL",
            "DUP2", Push(128), "SHR", Push(M64), "AND", *mod_p(), Push(128), "SHL", "OR",
            "DUP2", Push(64), "SHR", Push(M64), "AND", *mod_p(), Push(64), "SHL", "OR",
            "SWAP1", Push(M64), "AND", *mod_p(), "OR"]


def ext_rotations() -> list[Item]:
    """[y] -> [y1, y2, y3, y]: y times X, X^2, X^3 with lanes below p, so that x * y is
    x0 y + x1 y1 + x2 y2 + x3 y3, four MULs by base values (lanes below 4 p^2 < 2^64)."""
    return ["DUP1", Push(192), "SHR", Push(W), "MUL", *mod_p(),               # [w3, y]
            "DUP2", Push(128), "SHR", Push(M64), "AND", Push(W), "MUL", *mod_p(),  # [w2, w3, y]
            "DUP3", Push(64), "SHR", Push(M64), "AND", Push(W), "MUL", *mod_p(),   # [w1, w2, w3, y]
            "DUP4", Push(192), "SHL", "DUP4", Push(128), "SHL", "OR",
            "DUP3", Push(64), "SHL", "OR", "OR",                                   # [y3, w2, w3, y]
            "DUP4", Push(128), "SHL", "DUP4", Push(64), "SHL", "OR", "DUP3", "OR",  # [y2, y3, w2, w3, y]
            "SWAP2", "POP",                                                        # [y3, y2, w3, y]
            "DUP4", Push(64), "SHL", "DUP4", "OR",                                 # [y1, y3, y2, w3, y]
            "SWAP3", "POP", "SWAP2"]                                               # [y1, y2, y3, y]


def ext_mul_rotated(x_depth: int) -> list[Item]:
    """[y1, y2, y3, y, ...] -> [x * y, ...] for x at stack depth ``x_depth`` (counting y1 as 1):
    sum_i x_i * y_i (y0 = y), lanes reduced."""
    d = x_depth
    return [f"DUP{d}", Push(M64), "AND", "DUP5", "MUL",                          # x0 * y
            f"DUP{d + 1}", Push(64), "SHR", Push(M64), "AND", "DUP3", "MUL", "ADD",     # + x1 * y1
            f"DUP{d + 1}", Push(128), "SHR", Push(M64), "AND", "DUP4", "MUL", "ADD",    # + x2 * y2
            f"DUP{d + 1}", Push(192), "SHR", "DUP5", "MUL", "ADD",                # + x3 * y3
            "SWAP4", "POP", "POP", "POP", "POP",                                   # [t, ...]
            *reduce_lanes()]


def mulmod_p() -> list[Item]:
    """[a, b] -> [a * b mod p]."""
    return [Push(P), "SWAP2", "MULMOD"]


def pow_const(e: int) -> list[Item]:
    """[a] -> [a^e mod p] (e >= 1), square-and-multiply unrolled over e's bits."""
    out: list[Item] = ["DUP1"]
    for bit in bin(e)[3:]:
        out += ["DUP1", *mulmod_p()]
        if bit == "1":
            out += ["DUP2", *mulmod_p()]
    return out + ["SWAP1", "POP"]


def ext_add() -> list[Item]:
    """[a, b] -> [a + b] (canonical operands and result)."""
    return ["ADD", *reduce_once()]


def ext_sub() -> list[Item]:
    """[b, a] -> [a - b] (canonical operands and result)."""
    return [Push(PP), "SUB", "ADD", *reduce_once()]


def ext_product() -> list[Item]:
    """[b, a] -> [a * b] (canonical operands and result), as one 512-bit integer product: with
    coefficients in 64-bit lanes, the integer a * b holds c_k = sum_{i+j=k} a_i b_j in lane k
    (each below 4 p^2 < 2^64, so no lane carries into the next); MUL gives its low word
    (c_0..c_3), MULMOD by 2^256 - 1 its high word (c_4..c_6) (the 512-bit product trick), and
    X^4 = W folds the high lanes, reduced first, onto the low ones. About two thirds of the
    cost of four MULs by b's rotations when b is used once."""
    return [
        "PUSH0", "NOT", "DUP3", "DUP3", "MULMOD",           # [mm, b, a]: a b mod (2^256 - 1)
        "SWAP2", "MUL",                                     # [lo, mm]
        "DUP1", "DUP3", "SUB",                              # [mm - lo, lo, mm]
        "DUP3", "DUP3", "GT", "SWAP1", "SUB",               # [hi, lo, mm]: minus the borrow
        "SWAP2", "POP",                                     # [lo, hi]
        "DUP2", Push(M64), "AND", *mod_p(),                 # [c4, lo, hi]
        "DUP3", Push(64), "SHR", Push(M64), "AND", *mod_p(), Push(64), "SHL", "OR",
        "DUP3", Push(128), "SHR", *mod_p(), Push(128), "SHL", "OR",    # [c4 c5 c6 reduced, lo, hi]
        Push(W), "MUL", "ADD", "SWAP1", "POP", *reduce_lanes(),
    ]


def ext_inv(scratch: int) -> list[Item]:
    """[a] -> [1/a] (0 -> 0: callers check), through the norm: with Y = X^2, a * a(-X) =
    c0 + c1 Y, whose norm n = c0^2 - W c1^2 is a base value; 1/a = a(-X) (c0 - c1 Y) / n.
    Eight words of memory at ``scratch``."""
    a0, a1, a2, a3, c0, c1, e0, e1 = (scratch + 32 * i for i in range(8))

    def mm(x: int, y: int) -> list[Item]:            # [x * y mod p] of two memory words
        return [Push(x), "MLOAD", Push(y), "MLOAD", *mulmod_p()]

    neg = [Push(P), "SUB"]                           # [v] -> [p - v]
    return [
        "DUP1", Push(M64), "AND", Push(a0), "MSTORE",
        "DUP1", Push(64), "SHR", Push(M64), "AND", Push(a1), "MSTORE",
        "DUP1", Push(128), "SHR", Push(M64), "AND", Push(a2), "MSTORE",
        Push(192), "SHR", Push(a3), "MSTORE",
        # c0 = a0^2 + W a2^2 - 2W a1 a3,  c1 = 2 a0 a2 - a1^2 - W a3^2
        *mm(a0, a0), *mm(a2, a2), Push(W), "MUL", "ADD", *mm(a1, a3), *neg, Push(2 * W), "MUL", "ADD",
        *mod_p(), Push(c0), "MSTORE",
        *mm(a0, a2), Push(2), "MUL", *mm(a1, a1), *neg, "ADD", *mm(a3, a3), *neg, Push(W), "MUL", "ADD",
        *mod_p(), Push(c1), "MSTORE",
        # n = c0^2 - W c1^2, then 1/n
        *mm(c0, c0), *mm(c1, c1), *neg, Push(W), "MUL", "ADD", *mod_p(),
        *pow_const(P - 2),
        "DUP1", Push(c0), "MLOAD", *mulmod_p(), Push(e0), "MSTORE",        # e0 = c0 / n
        Push(c1), "MLOAD", *neg, *mulmod_p(), Push(e1), "MSTORE",          # e1 = -c1 / n
        # 1/a = (a0 - a1 X + a2 X^2 - a3 X^3)(e0 + e1 X^2)
        *mm(a3, e0), *neg, *mm(a1, e1), *neg, "ADD", *mod_p(), Push(192), "SHL",
        *mm(a2, e0), *mm(a0, e1), "ADD", *mod_p(), Push(128), "SHL", "OR",
        *mm(a1, e0), *neg, *mm(a3, e1), *neg, Push(W), "MUL", "ADD", *mod_p(), Push(64), "SHL", "OR",
        *mm(a0, e0), *mm(a2, e1), Push(W), "MUL", "ADD", *mod_p(), "OR",
    ]


# ----------------------------------------------------------------------------- Python reference
# (the kernels' specifications use these; prover.field is the arithmetic's own source, and the
# kernels' tests check the specifications against it)
def unpack(x: int) -> list[int]:
    """A packed extension element's four coefficients."""
    return [(x >> (64 * i)) & M64 for i in range(4)]


def pack(v) -> int:
    return sum(int(c) << (64 * i) for i, c in enumerate(v))


def ext_mul(a, b) -> list[int]:
    """(a0 + a1 X + a2 X^2 + a3 X^3)(b0 + ...) mod X^4 - W, coefficient lists."""
    out = [0] * 4
    for i in range(4):
        for j in range(4):
            out[(i + j) % 4] = (out[(i + j) % 4] + (W if i + j >= 4 else 1) * a[i] * b[j]) % P
    return out
