# pragma version ~=0.4.3
"""
@title BabyBear and its quartic extension (a Vyper module)
@notice p = 2^31 - 2^27 + 1; F_p[X]/(X^4 - 11) as in prover/field.py. An extension element is
        packed in one uint256: coefficient i (of X^i) in bits [64i, 64i + 64), each canonical,
        so equality is `==` and a base element is its own packing.
"""

P: constant(uint256) = 2013265921
W: constant(uint256) = 11
M64: constant(uint256) = 18446744073709551615


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
    return unsafe_mul(a, b) % P


@internal
@pure
def pow(a: uint256, e: uint256) -> uint256:
    """a^e by square-and-multiply (e < 2^64)."""
    r: uint256 = 1
    x: uint256 = a
    k: uint256 = e
    for _: uint256 in range(64):
        if k == 0:
            break
        if k & 1 == 1:
            r = unsafe_mul(r, x) % P
        x = unsafe_mul(x, x) % P
        k >>= 1
    return r


@internal
@pure
def inv(a: uint256) -> uint256:
    assert a % P != 0, "inverse of zero"
    return self.pow(a, P - 2)


@internal
@pure
def e_add(x: uint256, y: uint256) -> uint256:
    s: uint256 = unsafe_add(x, y)
    c0: uint256 = s & M64
    c1: uint256 = (s >> 64) & M64
    c2: uint256 = (s >> 128) & M64
    c3: uint256 = s >> 192
    if c0 >= P:
        c0 = unsafe_sub(c0, P)
    if c1 >= P:
        c1 = unsafe_sub(c1, P)
    if c2 >= P:
        c2 = unsafe_sub(c2, P)
    if c3 >= P:
        c3 = unsafe_sub(c3, P)
    return c0 | (c1 << 64) | (c2 << 128) | (c3 << 192)


@internal
@pure
def e_neg(x: uint256) -> uint256:
    c0: uint256 = unsafe_sub(P, x & M64) % P
    c1: uint256 = unsafe_sub(P, (x >> 64) & M64) % P
    c2: uint256 = unsafe_sub(P, (x >> 128) & M64) % P
    c3: uint256 = unsafe_sub(P, x >> 192) % P
    return c0 | (c1 << 64) | (c2 << 128) | (c3 << 192)


@internal
@pure
def e_sub(x: uint256, y: uint256) -> uint256:
    return self.e_add(x, self.e_neg(y))


@internal
@pure
def e_mul(x: uint256, y: uint256) -> uint256:
    a0: uint256 = x & M64
    a1: uint256 = (x >> 64) & M64
    a2: uint256 = (x >> 128) & M64
    a3: uint256 = x >> 192
    b0: uint256 = y & M64
    b1: uint256 = (y >> 64) & M64
    b2: uint256 = (y >> 128) & M64
    b3: uint256 = y >> 192
    c0: uint256 = unsafe_add(unsafe_mul(a0, b0), unsafe_mul(W, unsafe_add(unsafe_add(unsafe_mul(a1, b3), unsafe_mul(a2, b2)), unsafe_mul(a3, b1)))) % P
    c1: uint256 = unsafe_add(unsafe_add(unsafe_mul(a0, b1), unsafe_mul(a1, b0)), unsafe_mul(W, unsafe_add(unsafe_mul(a2, b3), unsafe_mul(a3, b2)))) % P
    c2: uint256 = unsafe_add(unsafe_add(unsafe_add(unsafe_mul(a0, b2), unsafe_mul(a1, b1)), unsafe_mul(a2, b0)), unsafe_mul(W, unsafe_mul(a3, b3))) % P
    c3: uint256 = unsafe_add(unsafe_add(unsafe_mul(a0, b3), unsafe_mul(a1, b2)), unsafe_add(unsafe_mul(a2, b1), unsafe_mul(a3, b0))) % P
    return c0 | (c1 << 64) | (c2 << 128) | (c3 << 192)


@internal
@pure
def e_mul_base(x: uint256, b: uint256) -> uint256:
    return (unsafe_mul(x & M64, b) % P) | ((unsafe_mul((x >> 64) & M64, b) % P) << 64) | \
        ((unsafe_mul((x >> 128) & M64, b) % P) << 128) | ((unsafe_mul(x >> 192, b) % P) << 192)


@internal
@pure
def e_inv(x: uint256) -> uint256:
    """1/x through the norm to F_p[X^2]: x * conj(x) = N, N * conj(N) = d in F_p."""
    assert x != 0, "inverse of zero"
    a0: uint256 = x & M64
    a1: uint256 = (x >> 64) & M64
    a2: uint256 = (x >> 128) & M64
    a3: uint256 = x >> 192
    n0: uint256 = (unsafe_mul(a0, a0) + unsafe_mul(W, unsafe_mul(a2, a2)) + unsafe_mul(P, P) * 22
                   - unsafe_mul(2 * W, unsafe_mul(a1, a3) % P)) % P
    n1: uint256 = (unsafe_mul(2, unsafe_mul(a0, a2)) + unsafe_mul(P, P) * 12
                   - unsafe_mul(a1, a1) - unsafe_mul(W, unsafe_mul(a3, a3))) % P
    d: uint256 = (unsafe_mul(n0, n0) + unsafe_mul(P, P) * W - unsafe_mul(W, unsafe_mul(n1, n1) % P)) % P
    dinv: uint256 = self.inv(d)
    m0: uint256 = unsafe_mul(n0, dinv) % P
    m1: uint256 = unsafe_mul(unsafe_sub(P, n1) % P, dinv) % P
    conj: uint256 = a0 | ((unsafe_sub(P, a1) % P) << 64) | (a2 << 128) | ((unsafe_sub(P, a3) % P) << 192)
    return self.e_mul(conj, m0 | (m1 << 128))


@internal
@pure
def e_pow(x: uint256, e: uint256) -> uint256:
    r: uint256 = 1
    b: uint256 = x
    k: uint256 = e
    for _: uint256 in range(64):
        if k == 0:
            break
        if k & 1 == 1:
            r = self.e_mul(r, b)
        b = self.e_mul(b, b)
        k >>= 1
    return r
