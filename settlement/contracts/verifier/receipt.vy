# pragma version ~=0.4.3
# pragma optimize gas
"""
@title zkMIPS segmented-receipt verifier
@notice Checks a segmented receipt (docs/receipt-format.md, prover/zkmips/segment_receipt.py
        verify_segmented) whose STARK proofs the STARK verifier has already checked in steps,
        and records its claim digest (settlement/claim_digest.py) as verified: what the market
        contract's `fulfill` and `respond` ask about.
@dev    The proofs' statements are recomputed here from the claim, so a proof verified for
        another claim, another seed, other public values or other bus totals is no fact:
          - the three verifying keys from the receipt's preprocessed roots and heights, and the image id;
          - the shared LogUp seed from the claim and every proof's binding, in order;
          - the challenges (z, beta) from the seed;
          - each segment's public values: cycles, number, and the syscall table's
            (exit code, input length, input read, io digest limbs, cycles, final, clock offset);
          - the open buses over all proofs: memory and private reads balance, the input and
            journal buses carry exactly the claim's bytes.
        Two layouts: split (the memory proof, then one proof per segment) and joined (a
        one-segment run's single proof under the joined key, gmem and private closed in it).
"""

from verifier import babybear as bb
from verifier import transcript as tr

interface IStark:
    def facts(statement: bytes32) -> bool: view

MAX_IO: constant(uint256) = 8192
INV_CHUNK: constant(uint256) = 64
MAX_SEGMENTS: constant(uint256) = 64
MAX_PUBLICS: constant(uint256) = 512
MAX_TABLES: constant(uint256) = 32
MAX_OPEN_BUSES: constant(uint256) = 16
MAX_SEGMENT_CYCLES: constant(uint256) = 2097150
P: constant(uint256) = 2013265921
VK_DOMAIN: constant(Bytes[32]) = b"zkmips-vk-v2"
IMAGE_ID_DOMAIN: constant(Bytes[32]) = b"zkmips-image-v4"
SEED_DOMAIN: constant(Bytes[32]) = b"zkmips-receipt-seed-v1"
IO_DIGEST_DOMAIN: constant(Bytes[32]) = b"zkmips-syscall-io-v1"
SHARED_LABEL: constant(Bytes[32]) = b"zkmips-shared-logup-v1"

struct Key:
    pre_root: bytes32
    pre_heights: Bytes[MAX_TABLES]

struct ProofRef:
    publics: Bytes[MAX_PUBLICS]
    totals: DynArray[uint256, MAX_OPEN_BUSES]

# how one circuit lays out what this contract reads (generated: onchain_verifier.receipt_layout)
struct ProofLayout:
    circuit: bytes32
    tables: uint256
    cpu_public: uint256        # byte offset of the CPU's cycle count in a segment's publics stream
    memory_public: uint256     # ... of the Memory table's segment number
    syscall_public: uint256    # ... of the Syscall table's first public value
    publics_bytes: uint256     # length of the publics stream
    gmem: uint256              # positions of the open buses in the proof's totals (CLOSED: balanced inside it)
    private: uint256
    input: uint256
    journal: uint256
    open: uint256              # number of open buses

struct Layout:
    segment: ProofLayout
    memory: ProofLayout
    joined: ProofLayout
    input_bus_id: uint256
    journal_bus_id: uint256

# the claim's facts every segment's public values must repeat
struct Expect:
    exit_code: uint256
    input_len: uint256
    input_read: uint256
    io_word: uint256
    count: uint256

event ReceiptVerified:
    claim_digest: indexed(bytes32)
    image_id: indexed(bytes32)

CLOSED: constant(uint256) = max_value(uint256)

STARK: public(immutable(IStark))
layout: public(Layout)
verified: public(HashMap[bytes32, bool])


@deploy
def __init__(stark: address, layout: Layout):
    STARK = IStark(stark)
    self.layout = layout


@internal
@pure
def _u32_le(data: Bytes[MAX_PUBLICS], at: uint256) -> uint256:
    w: uint256 = convert(slice(data, at, 4), uint256)
    return ((w & 255) << 24) | (((w >> 8) & 255) << 16) | (((w >> 16) & 255) << 8) | (w >> 24)


@internal
@pure
def _le(x: uint256) -> bytes32:
    """x's 8 low bytes, little-endian, at the start of a word."""
    out: uint256 = 0
    for i: uint256 in range(8):
        out |= ((x >> (8 * i)) & 255) << (8 * (31 - i))
    return convert(out, bytes32)


@internal
@pure
def _bus_total(data: Bytes[MAX_IO], count: uint256, bus_id: uint256, z: uint256, beta: uint256) -> uint256:
    """sum_i 1 / (z - (bus_id + beta i + beta^2 data[i])) (prover/zkmips/syscall/claim.py
    expected_open_sums), one inversion per INV_CHUNK bytes (Montgomery's trick over a
    chunk: a small buffer, where one over all MAX_IO bytes cost every call its EVM memory,
    ~0.5 M gas; each denominator is computed again on the way back)."""
    beta2: uint256 = bb.e_mul(beta, beta)
    total: uint256 = 0
    for chunk: uint256 in range(MAX_IO // INV_CHUNK):
        c: uint256 = chunk * INV_CHUNK
        if c >= count:
            break
        n: uint256 = min(INV_CHUNK, count - c)
        prefix: uint256[INV_CHUNK] = empty(uint256[INV_CHUNK])
        run: uint256 = 1
        fp: uint256 = bb.e_add(bus_id, bb.e_mul_base(beta, c))
        for k: uint256 in range(n, bound=INV_CHUNK):
            prefix[k] = run
            run = bb.e_mul(run, bb.e_sub(z, bb.e_add(fp, bb.e_mul_base(beta2, convert(slice(data, c + k, 1), uint256)))))
            fp = bb.e_add(fp, beta)
        inv: uint256 = bb.e_inv(run)
        for j: uint256 in range(n, bound=INV_CHUNK):
            k: uint256 = n - 1 - j
            fp = bb.e_sub(fp, beta)
            total = bb.e_add(total, bb.e_mul(inv, prefix[k]))
            inv = bb.e_mul(inv, bb.e_sub(z, bb.e_add(fp, bb.e_mul_base(beta2, convert(slice(data, c + k, 1), uint256)))))
    return total


@internal
@view
def _require_fact(vk: bytes32, seed: bytes32, binding: bytes32, p: ProofRef, z: uint256, beta: uint256,
                  what: String[32]):
    statement: bytes32 = keccak256(abi_encode(vk, seed, binding, keccak256(p.publics), p.totals, z, beta))
    assert staticcall STARK.facts(statement), what


@internal
@pure
def _vk(L: ProofLayout, key: Key) -> bytes32:
    assert len(key.pre_heights) == L.tables, "keys of another circuit"
    return keccak256(concat(VK_DOMAIN, L.circuit, key.pre_heights, key.pre_root))


@internal
@pure
def _total(p: ProofRef, at: uint256) -> uint256:
    if at == CLOSED:
        return 0
    return p.totals[at]


@internal
@pure
def _segment_cycles(L: ProofLayout, p: ProofRef, number: uint256, clk: uint256, e: Expect) -> uint256:
    """Check segment `number`'s public values against the claim; returns its cycle count."""
    assert len(p.publics) == L.publics_bytes and len(p.totals) == L.open, "bad segment proof"
    c: uint256 = self._u32_le(p.publics, L.cpu_public)
    assert c >= 1 and c <= MAX_SEGMENT_CYCLES, "bad segment cycle count"
    assert self._u32_le(p.publics, L.memory_public) == number, "segments out of order"
    at: uint256 = L.syscall_public
    assert self._u32_le(p.publics, at) == e.exit_code, "exit code differs"
    assert self._u32_le(p.publics, at + 4) == e.input_len, "input length differs"
    assert self._u32_le(p.publics, at + 8) == e.input_read, "input read differs"
    for k: uint256 in range(16):
        limb: uint256 = ((e.io_word >> (248 - 16 * k)) & 255) | (((e.io_word >> (240 - 16 * k)) & 255) << 8)
        assert self._u32_le(p.publics, at + 12 + 4 * k) == limb, "io digest differs"
    assert self._u32_le(p.publics, at + 76) == c, "syscall cycles differ"
    final: uint256 = 0
    if number == e.count:
        final = 1
    assert self._u32_le(p.publics, at + 80) == final, "final flag differs"
    assert self._u32_le(p.publics, at + 84) == clk, "clock offset differs"
    return c


@external
def verify_receipt(image_id: bytes32, input: Bytes[MAX_IO], journal: Bytes[MAX_IO], exit_code: uint8,
                   cycles: uint64, input_read: uint32, memory_key: Key, segment_key: Key, joined_key: Key,
                   joined: bool, bindings: Bytes[2080], memory: ProofRef,
                   segments: DynArray[ProofRef, MAX_SEGMENTS]) -> bytes32:
    """Record the claim of a receipt whose proofs are verified facts; returns its claim digest.
    `bindings`: every proof's binding in the seed's order (a split receipt's memory proof
    first); `joined`: `segments` is the one proof under the joined key and `memory` unused."""
    L: Layout = self.layout
    n: uint256 = len(segments)
    assert n >= 1, "a receipt has at least one segment"
    assert not joined or n == 1, "a joined receipt has one proof"
    assert convert(cycles, uint256) < P, "too many cycles"
    assert convert(input_read, uint256) <= len(input), "more input read than the claim holds"
    mem_vk: bytes32 = self._vk(L.memory, memory_key)
    seg_vk: bytes32 = self._vk(L.segment, segment_key)
    joined_vk: bytes32 = self._vk(L.joined, joined_key)
    assert keccak256(concat(IMAGE_ID_DOMAIN, seg_vk, mem_vk, joined_vk)) == image_id, \
        "the image id does not match the keys"

    input_digest: bytes32 = keccak256(input)
    journal_digest: bytes32 = keccak256(journal)
    proofs: uint256 = n + 1
    if joined:
        proofs = 1
    assert len(bindings) == 32 * proofs, "one binding per proof"
    seed: bytes32 = keccak256(concat(SEED_DOMAIN, image_id, input_digest, journal_digest,
                                     convert(exit_code, bytes1), slice(self._le(convert(cycles, uint256)), 0, 8),
                                     slice(self._le(proofs), 0, 4), bindings))
    s: tr.Sampler = tr.sampler(keccak256(concat(keccak256(concat(b"zkmips-transcript-v1", SHARED_LABEL)), b"\x00", seed)))
    z: uint256 = 0
    beta: uint256 = 0
    s, z = tr.sample_ext(s)
    s, beta = tr.sample_ext(s)

    gmem: uint256 = 0
    private: uint256 = 0
    first: uint256 = 0           # the first segment's binding
    SL: ProofLayout = L.joined
    vk: bytes32 = joined_vk
    if joined:
        assert len(memory.publics) == 0 and len(memory.totals) == 0, "a joined receipt has no memory proof"
    else:
        # the memory proof: no public values, its two open buses
        assert len(memory.publics) == L.memory.publics_bytes and len(memory.totals) == L.memory.open, \
            "bad memory proof"
        self._require_fact(mem_vk, seed, extract32(bindings, 0), memory, z, beta, "the memory proof is not verified")
        gmem = self._total(memory, L.memory.gmem)
        private = self._total(memory, L.memory.private)
        first = 32
        SL = L.segment
        vk = seg_vk
    inputs: uint256 = 0
    journals: uint256 = 0

    io: bytes32 = keccak256(concat(IO_DIGEST_DOMAIN, slice(self._le(len(input)), 0, 8), input,
                                   slice(self._le(len(journal)), 0, 8), journal))
    e: Expect = Expect(exit_code=convert(exit_code, uint256), input_len=len(input),
                       input_read=convert(input_read, uint256), io_word=convert(io, uint256), count=n)
    clk: uint256 = 0
    for i: uint256 in range(n, bound=MAX_SEGMENTS):
        p: ProofRef = segments[i]
        c: uint256 = self._segment_cycles(SL, p, i + 1, clk, e)
        self._require_fact(vk, seed, extract32(bindings, first + 32 * i), p, z, beta, "a segment proof is not verified")
        clk += c
        gmem = bb.e_add(gmem, self._total(p, SL.gmem))
        private = bb.e_add(private, self._total(p, SL.private))
        inputs = bb.e_add(inputs, self._total(p, SL.input))
        journals = bb.e_add(journals, self._total(p, SL.journal))
    assert clk == convert(cycles, uint256), "the segments' cycles do not add up to the claim's"
    assert gmem == 0, "the segments' memory does not join up"
    assert private == 0, "the private reads are not one private input"
    assert inputs == self._bus_total(input, convert(input_read, uint256), L.input_bus_id, z, beta), \
        "the proofs' public input differs from the claim's"
    assert journals == self._bus_total(journal, len(journal), L.journal_bus_id, z, beta), \
        "the proofs' journal differs from the claim's"
    digest: bytes32 = keccak256(abi_encode(image_id, input_digest, journal_digest,
                                           convert(exit_code, uint32), cycles))
    self.verified[digest] = True
    log ReceiptVerified(claim_digest=digest, image_id=image_id)
    return digest
