# pragma version ~=0.4.3
"""
@title FRI folding and evaluation for the verifier's queries (a Vyper module)
@notice prover/fri.py _fold_rows (one query's row), _eval_poly_at, and the two-adic
        generators of prover/field.py.
"""

from verifier import babybear as bb

INV2: constant(uint256) = 1006632961
OMEGA: constant(uint256[28]) = [1, 2013265920, 1728404513, 1592366214, 196396260, 760005850, 1721589904, 397765732, 1732600167, 1753498361, 341742893, 1340477990, 1282623253, 298008106, 1657000625, 2009781145, 1421947380, 1286330022, 1559589183, 1049899240, 195061667, 414040701, 570250684, 1267047229, 1003846038, 1149491290, 975630072, 440564289]
OMEGA_INV: constant(uint256[28]) = [1, 2013265920, 284861408, 1801542727, 567209306, 1273220281, 662200255, 1856545343, 1611842161, 1861675199, 774513262, 449056851, 1255670133, 1976924129, 106301669, 1411306935, 1540942033, 1043440885, 173207512, 463443832, 1021415956, 1574319791, 953617870, 987386499, 1469248932, 165179394, 1498740239, 1713844692]


@internal
@pure
def two_adic_generator(log_n: uint256) -> uint256:
    return OMEGA[log_n]


@internal
@pure
def bit_reverse(x: uint256, bits: uint256) -> uint256:
    r: uint256 = 0
    for i: uint256 in range(bits, bound=32):
        r = (r << 1) | ((x >> i) & 1)
    return r


@internal
@pure
def fold_row(values: DynArray[uint256, 16], row_index: uint256, log_n: uint256, log_arity: uint256,
             beta: uint256, coset: uint256) -> uint256:
    """Fold the queried row (row `row_index` of a layer of log-height `log_n` on `coset * H`)
    by 2^log_arity: the binary folds ((e0 + e1) + beta (e0 - e1) / x) / 2, beta squared and
    the coset squared after each."""
    vals: DynArray[uint256, 16] = values
    b: uint256 = beta
    sh: uint256 = coset
    level: uint256 = log_n
    for _: uint256 in range(log_arity, bound=4):
        width: uint256 = len(vals) // 2
        sh_inv: uint256 = bb.inv(sh)
        nxt: DynArray[uint256, 16] = []
        for j: uint256 in range(width, bound=8):
            x_inv: uint256 = bb.mul(sh_inv, bb.pow(OMEGA_INV[level], self.bit_reverse(row_index * width + j, level - 1)))
            e0: uint256 = vals[2 * j]
            e1: uint256 = vals[2 * j + 1]
            d: uint256 = bb.e_mul_base(bb.e_sub(e0, e1), x_inv)
            nxt.append(bb.e_mul_base(bb.e_add(bb.e_add(e0, e1), bb.e_mul(d, b)), INV2))
        vals = nxt
        b = bb.e_mul(b, b)
        sh = bb.mul(sh, sh)
        level -= 1
    return vals[0]


@internal
@pure
def eval_poly(coeffs: DynArray[uint256, 64], x: uint256) -> uint256:
    """Horner with base-field multiplications."""
    acc: uint256 = 0
    n: uint256 = len(coeffs)
    for j: uint256 in range(n, bound=64):
        acc = bb.e_add(bb.e_mul_base(acc, x), coeffs[n - 1 - j])
    return acc
