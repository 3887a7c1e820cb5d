# pragma version ~=0.4.3
"""
@title BabyBear and its quartic extension (a Vyper module)
@notice p = 2^31 - 2^27 + 1; F_p[X]/(X^4 - 11) as in prover/field.py.

        Base elements are canonical uint256 values in [0, P). An extension element is packed
        in one uint256: coefficient i (of X^i) in bits [64i, 64i + 64), each canonical, so
        equality is `==` and a base element is its own packing (every e_* function accepts it).

        The lanes are 64 bits wide and coefficients below 2^31, so whole-vector operations
        run as one EVM word operation (SWAR) without carries between lanes:
          * a sum of two vectors has lanes below 2P < 2^32; adding K = (2^32 - P) per lane
            sets bit 32 of a lane exactly when it is >= P, and (that bit) * P is subtracted;
          * a vector times a base value is ONE MUL (lanes below P^2 < 2^62), then four MODs;
          * e_mul is x0*y + x1*(X y) + x2*(X^2 y) + x3*(X^3 y): four MULs of the packed
            rotations of y (lanes below 4 P^2 < 2^64), then four MODs.
        No function checks that its inputs are canonical (e_canonical does, for proof data);
        on canonical inputs every result is canonical.
"""

P: constant(uint256) = 2013265921
W: constant(uint256) = 11
M64: constant(uint256) = 18446744073709551615
# 1 in every 64-bit lane, P in every lane, 2^32 - P in every lane
ONES: constant(uint256) = 6277101735386680764176071790128604879584176795969512275969
PP: constant(uint256) = 12637475006503964139821922978715384411341131794164389220199534952449
K: constant(uint256) = 14322471660646675656306593745635149180578925623606730618157846757375
# bits 31..63 of every lane (must be clear in a canonical packing)
HIGH: constant(uint256) = 115792089223836222096272766846010330255270789659809140210156200884703951060992


# ----------------------------------------------------------------------------- base field


@internal
@pure
def add(a: uint256, b: uint256) -> uint256:
    return unsafe_add(a, b) % P


@internal
@pure
def sub(a: uint256, b: uint256) -> uint256:
    return unsafe_sub(unsafe_add(a, P), b) % P


@internal
@pure
def mul(a: uint256, b: uint256) -> uint256:
    return uint256_mulmod(a, b, P)


@internal
@pure
def pow(a: uint256, e: uint256) -> uint256:
    """a^e by square-and-multiply (any e; a^0 = 1)."""
    r: uint256 = 1
    x: uint256 = a
    k: uint256 = e
    for _: uint256 in range(256):
        if k == 0:
            break
        if k & 1 != 0:
            r = uint256_mulmod(r, x, P)
        x = uint256_mulmod(x, x, P)
        k = k >> 1
    return r


@internal
@pure
def inv(a: uint256) -> uint256:
    """a^(P-2), reverts on 0 (mod P). P - 2 = 0b1110 followed by 27 ones: an addition chain
    of 39 squarings and 7 multiplications, straight-line (no loop)."""
    assert a % P != 0, "inverse of zero"
    t: uint256 = uint256_mulmod(uint256_mulmod(a, a, P), a, P)  # a^3
    t3: uint256 = uint256_mulmod(uint256_mulmod(t, t, P), a, P)  # a^(2^3 - 1)
    t = uint256_mulmod(t3, t3, P)
    t = uint256_mulmod(t, t, P)
    t = uint256_mulmod(t, t, P)
    t6: uint256 = uint256_mulmod(t, t3, P)  # a^(2^6 - 1)
    t = uint256_mulmod(t6, t6, P)
    t = uint256_mulmod(t, t, P)
    t = uint256_mulmod(t, t, P)
    t = uint256_mulmod(t, t, P)
    t = uint256_mulmod(t, t, P)
    t = uint256_mulmod(t, t, P)
    t12: uint256 = uint256_mulmod(t, t6, P)  # a^(2^12 - 1)
    x: uint256 = uint256_mulmod(t3, t3, P)  # a^0b1110
    x = uint256_mulmod(x, x, P)
    x = uint256_mulmod(x, x, P)
    x = uint256_mulmod(x, x, P)
    x = uint256_mulmod(x, t3, P)  # a^0b1110111
    for _: uint256 in range(2):
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, x, P)
        x = uint256_mulmod(x, t12, P)  # 12 more ones
    return x


# ----------------------------------------------------------------------------- extension


@internal
@pure
def e_pack(a0: uint256, a1: uint256, a2: uint256, a3: uint256) -> uint256:
    """Pack four canonical coefficients (not checked)."""
    return a0 | (a1 << 64) | (a2 << 128) | (a3 << 192)


@internal
@pure
def e_coeff(x: uint256, i: uint256) -> uint256:
    """Coefficient i (0..3) of X^i."""
    return (x >> (i << 6)) & M64


@internal
@pure
def e_canonical(x: uint256) -> bool:
    """Whether x is a canonical packing (every lane below P, nothing else set)."""
    return x & HIGH == 0 and (unsafe_add(x, K) >> 32) & ONES == 0


@internal
@pure
def e_add(x: uint256, y: uint256) -> uint256:
    s: uint256 = unsafe_add(x, y)
    return unsafe_sub(s, unsafe_mul((unsafe_add(s, K) >> 32) & ONES, P))


@internal
@pure
def e_sub(x: uint256, y: uint256) -> uint256:
    s: uint256 = unsafe_sub(unsafe_add(x, PP), y)
    return unsafe_sub(s, unsafe_mul((unsafe_add(s, K) >> 32) & ONES, P))


@internal
@pure
def e_neg(x: uint256) -> uint256:
    s: uint256 = unsafe_sub(PP, x)
    return unsafe_sub(s, unsafe_mul((unsafe_add(s, K) >> 32) & ONES, P))


@internal
@pure
def e_add_base(x: uint256, b: uint256) -> uint256:
    """x + b for a base value b (canonical)."""
    s: uint256 = unsafe_add(x, b)
    return unsafe_sub(s, unsafe_mul((unsafe_add(s, K) >> 32) & ONES, P))


@internal
@pure
def e_mul_base(x: uint256, b: uint256) -> uint256:
    """x * b for a base value b (canonical): one MUL, four MODs."""
    t: uint256 = unsafe_mul(x, b)
    return ((t & M64) % P) | (((t >> 64) & M64) % P << 64) | (((t >> 128) & M64) % P << 128) | \
        ((t >> 192) % P << 192)


@internal
@pure
def e_mul(x: uint256, y: uint256) -> uint256:
    """x * y = x0 y + x1 (X y) + x2 (X^2 y) + x3 (X^3 y), rotations packed (X^4 = W)."""
    w2: uint256 = unsafe_mul(W, (y >> 128) & M64) % P
    w3: uint256 = unsafe_mul(W, y >> 192) % P
    t: uint256 = unsafe_add(
        unsafe_add(unsafe_mul(x & M64, y), unsafe_mul((x >> 64) & M64, (y << 64) | w3)),
        unsafe_add(unsafe_mul((x >> 128) & M64, (y << 128) | (w3 << 64) | w2),
                   unsafe_mul(x >> 192, (y << 192) | (w3 << 128) | (w2 << 64) | (unsafe_mul(W, (y >> 64) & M64) % P))))
    return ((t & M64) % P) | (((t >> 64) & M64) % P << 64) | (((t >> 128) & M64) % P << 128) | \
        ((t >> 192) % P << 192)


@internal
@pure
def e_square(x: uint256) -> uint256:
    w2: uint256 = unsafe_mul(W, (x >> 128) & M64) % P
    w3: uint256 = unsafe_mul(W, x >> 192) % P
    t: uint256 = unsafe_add(
        unsafe_add(unsafe_mul(x & M64, x), unsafe_mul((x >> 64) & M64, (x << 64) | w3)),
        unsafe_add(unsafe_mul((x >> 128) & M64, (x << 128) | (w3 << 64) | w2),
                   unsafe_mul(x >> 192, (x << 192) | (w3 << 128) | (w2 << 64) | (unsafe_mul(W, (x >> 64) & M64) % P))))
    return ((t & M64) % P) | (((t >> 64) & M64) % P << 64) | (((t >> 128) & M64) % P << 128) | \
        ((t >> 192) % P << 192)


@internal
@pure
def e_inv(x: uint256) -> uint256:
    """1/x through the norm to F_p[Y] (Y = X^2, Y^2 = W): with A = a0 + a2 Y, B = a1 + a3 Y,
    x = A + X B, conj = A - X B, x * conj = N = n0 + n1 Y, N * conj(N) = d in F_p;
    1/x = conj * (n0 - n1 Y) / d. Reverts on 0."""
    assert x != 0, "inverse of zero"
    a0: uint256 = x & M64
    a1: uint256 = (x >> 64) & M64
    a2: uint256 = (x >> 128) & M64
    a3: uint256 = x >> 192
    # n0 = a0^2 + W a2^2 - 2W a1 a3,  n1 = 2 a0 a2 - a1^2 - W a3^2   (offsets keep them positive)
    n0: uint256 = unsafe_sub(unsafe_add(unsafe_add(unsafe_mul(a0, a0), unsafe_mul(W, unsafe_mul(a2, a2))), 22 * P),
                             unsafe_mul(2 * W, uint256_mulmod(a1, a3, P))) % P
    n1: uint256 = unsafe_sub(unsafe_add(unsafe_mul(2, unsafe_mul(a0, a2)), 12 * P * P),
                             unsafe_add(unsafe_mul(a1, a1), unsafe_mul(W, unsafe_mul(a3, a3)))) % P
    d: uint256 = self.inv(unsafe_sub(unsafe_add(unsafe_mul(n0, n0), W * P), unsafe_mul(W, uint256_mulmod(n1, n1, P))) % P)
    odd: uint256 = x & ((M64 << 64) | (M64 << 192))
    conj: uint256 = unsafe_sub(unsafe_add(x ^ odd, (P << 64) | (P << 192)), odd)
    conj = unsafe_sub(conj, unsafe_mul((unsafe_add(conj, K) >> 32) & ONES, P))
    return self.e_mul(conj, uint256_mulmod(n0, d, P) | (uint256_mulmod(unsafe_sub(P, n1), d, P) << 128))


@internal
@pure
def e_pow(x: uint256, e: uint256) -> uint256:
    """x^e by square-and-multiply (any e; x^0 = 1)."""
    r: uint256 = 1
    b: uint256 = x
    k: uint256 = e
    for _: uint256 in range(256):
        if k == 0:
            break
        if k & 1 != 0:
            r = self.e_mul(r, b)
        k = k >> 1
        if k != 0:
            b = self.e_mul(b, b)
    return r
