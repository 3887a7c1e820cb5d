# pragma version ~=0.4.3
"""
@title The keccak Fiat-Shamir transcript of prover/transcript.py (a Vyper module)
@notice The Python transcript holds (state, pending bytes, squeeze counter, unread words).
        On chain a caller holds `state: bytes32` between squeezes and a `Sampler` while it
        squeezes; pending bytes are never stored, the caller hashes them in one go:

        * start:   state = keccak("zkmips-transcript-v1" || label)                 (start)
        * absorb:  Python only appends to `pending`; it hashes at the NEXT squeeze or proof
                   of work, and only if pending is non-empty. So every absorb between two
                   squeezes/pow checks concatenates into ONE buffer, hashed once:
                       state' = keccak(state || 0x00 || item1 || item2 || ...)     (absorb)
                   Items are raw bytes without lengths: base elements 4 bytes little-endian,
                   extension elements 4 x 4 bytes LE (coefficient 0 first), digests 32 bytes.
                   Absorbing nothing leaves the state as it is (no hash).
        * squeeze: s = sampler(state') restarts the counter; words come from
                   block_c = keccak(state' || 0x01 || uint32_be(c)), eight big-endian uint32
                   words per block, consumed in order. Squeezes with nothing absorbed in
                   between continue the SAME sampler (same counter, same unread words): keep
                   passing the Sampler along, do not call sampler() again.
        * proof of work: pow_ok(state', nonce, bits) with state' the flushed state (apply
                   the absorb rule first if anything is pending). Python then absorbs the
                   nonce as 8 big-endian bytes into a fresh pending buffer, so the next flush
                   is state'' = keccak(state' || 0x00 || uint64_be(nonce) || later items).
                   absorb_nonce(state', nonce) is that hash when nothing else is absorbed
                   before the next squeeze. A pow check does NOT reset a running Sampler by
                   itself; the nonce it absorbs does (pending becomes non-empty).
        Sample rules: base = w & (2^31 - 1), rejected (next word) when >= P; extension =
        four base samples, packed as in babybear.vy; bits = w & (2^bits - 1), bits <= 32.
"""

P: constant(uint256) = 2013265921
M31: constant(uint256) = 2147483647
M32: constant(uint256) = 4294967295
MAX_ABSORB: constant(uint256) = 1024


struct Sampler:
    state: bytes32
    counter: uint256
    block: uint256
    left: uint256


@internal
@pure
def start(label: Bytes[64]) -> bytes32:
    return keccak256(concat(b"zkmips-transcript-v1", label))


@internal
@pure
def absorb(state: bytes32, data: Bytes[MAX_ABSORB]) -> bytes32:
    """The flush of a non-empty pending buffer `data` (see the module notes). Callers with
    larger data hash keccak256(concat(state, b"\\x00", data)) themselves."""
    if len(data) == 0:
        return state
    return keccak256(concat(state, b"\x00", data))


@internal
@pure
def absorb_nonce(state: bytes32, nonce: uint64) -> bytes32:
    """The state after a proof-of-work nonce when nothing else is absorbed before the next
    squeeze: keccak(state || 0x00 || uint64_be(nonce))."""
    return keccak256(concat(state, b"\x00", convert(nonce, bytes8)))


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
        t.counter = unsafe_add(t.counter, 1)
        t.left = 8
    t.left = unsafe_sub(t.left, 1)
    return t, (t.block >> (t.left << 5)) & M32


@internal
@pure
def sample_base(s: Sampler) -> (Sampler, uint256):
    t: Sampler = s
    for _: uint256 in range(64):
        if t.left == 0:
            t.block = convert(keccak256(concat(t.state, b"\x01", convert(convert(t.counter, uint32), bytes4))), uint256)
            t.counter = unsafe_add(t.counter, 1)
            t.left = 8
        t.left = unsafe_sub(t.left, 1)
        w: uint256 = (t.block >> (t.left << 5)) & M31
        if w < P:
            return t, w
    raise "transcript: no sample"


@internal
@pure
def sample_ext(s: Sampler) -> (Sampler, uint256):
    """Four base samples, packed (coefficient i in bits [64i, 64i + 64))."""
    t: Sampler = s
    out: uint256 = 0
    sh: uint256 = 0
    for _: uint256 in range(64):
        if t.left == 0:
            t.block = convert(keccak256(concat(t.state, b"\x01", convert(convert(t.counter, uint32), bytes4))), uint256)
            t.counter = unsafe_add(t.counter, 1)
            t.left = 8
        t.left = unsafe_sub(t.left, 1)
        w: uint256 = (t.block >> (t.left << 5)) & M31
        if w < P:
            out = out | (w << sh)
            sh = unsafe_add(sh, 64)
            if sh == 256:
                return t, out
    raise "transcript: no sample"


@internal
@pure
def sample_bits(s: Sampler, bits: uint256) -> (Sampler, uint256):
    """A uniform integer below 2^bits, bits <= 32."""
    t: Sampler = s
    if t.left == 0:
        t.block = convert(keccak256(concat(t.state, b"\x01", convert(convert(t.counter, uint32), bytes4))), uint256)
        t.counter = unsafe_add(t.counter, 1)
        t.left = 8
    t.left = unsafe_sub(t.left, 1)
    return t, (t.block >> (t.left << 5)) & ((1 << bits) - 1)


@internal
@pure
def pow_ok(state: bytes32, nonce: uint64, bits: uint256) -> bool:
    """keccak(state || 0x02 || uint64_be(nonce)) < 2^(256 - bits), bits <= 64 (state = the
    flushed state, see the module notes)."""
    if bits == 0:
        return True
    d: uint256 = convert(keccak256(concat(state, b"\x02", convert(nonce, bytes8))), uint256)
    return d >> (256 - bits) == 0
