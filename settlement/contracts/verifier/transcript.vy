# pragma version ~=0.4.3
"""
@title The keccak Fiat-Shamir transcript of prover/transcript.py, squeezing side (a Vyper module)
@notice Absorbing is the caller's: state' = keccak(state || 0x00 || pending), where pending is
        everything absorbed since the last squeeze or proof-of-work check, concatenated. A
        Sampler then draws words from block_c = keccak(state || 0x01 || u32_be(c)), eight
        big-endian u32 words per block, in order.
"""

P: constant(uint256) = 2013265921
M31: constant(uint256) = 2147483647
M32: constant(uint256) = 4294967295


struct Sampler:
    state: bytes32
    counter: uint256
    block: uint256
    left: uint256


@internal
@pure
def sampler(state: bytes32) -> Sampler:
    return Sampler(state=state, counter=0, block=0, left=0)


@internal
@pure
def next_word(s: Sampler) -> (Sampler, uint256):
    t: Sampler = s
    if t.left == 0:
        t.block = convert(keccak256(concat(t.state, b"\x01", convert(convert(t.counter, uint32), bytes4))), uint256)
        t.counter += 1
        t.left = 8
    t.left -= 1
    return t, (t.block >> (32 * t.left)) & M32


@internal
@pure
def sample_base(s: Sampler) -> (Sampler, uint256):
    t: Sampler = s
    w: uint256 = 0
    for _: uint256 in range(64):
        t, w = self.next_word(t)
        w &= M31
        if w < P:
            return t, w
    raise "transcript: no sample"


@internal
@pure
def sample_ext(s: Sampler) -> (Sampler, uint256):
    t: Sampler = s
    out: uint256 = 0
    for i: uint256 in range(4):
        c: uint256 = 0
        t, c = self.sample_base(t)
        out |= c << (64 * i)
    return t, out


@internal
@pure
def sample_bits(s: Sampler, bits: uint256) -> (Sampler, uint256):
    t: Sampler = s
    w: uint256 = 0
    t, w = self.next_word(t)
    return t, w & ((1 << bits) - 1)


@internal
@pure
def pow_ok(state: bytes32, nonce: uint64, bits: uint256) -> bool:
    if bits == 0:
        return True
    d: uint256 = convert(keccak256(concat(state, b"\x02", convert(nonce, bytes8))), uint256)
    return d >> (256 - bits) == 0
