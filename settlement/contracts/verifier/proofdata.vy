# pragma version ~=0.4.3
"""
@title Shared pieces of the STARK verifier contracts (a Vyper module)
@notice The limits, the session that `stark.vy` opens and `queries.vy` continues, the circuit
        blob's table records, and the readers of little-endian field elements in calldata
        blobs (layouts: settlement/evm_stark.py).
"""

from verifier import babybear as bb

GEN: constant(uint256) = 31
MAX_TABLES: constant(uint256) = 32
MAX_MATS: constant(uint256) = 128
MAX_SLOTS: constant(uint256) = 192
MAX_GROUPS: constant(uint256) = 64
MAX_QUERIES: constant(uint256) = 128
MAX_LAYERS: constant(uint256) = 24
MAX_FINAL: constant(uint256) = 32
MAX_CIRCUIT: constant(uint256) = 1024
MAX_HEAD: constant(uint256) = 2048
MAX_OPENED: constant(uint256) = 81920
MAX_FRI_HEAD: constant(uint256) = 2048
# Every table program is stored as the code of its own contract, zero-padded to this length
# (EXTCODECOPY needs a constant length in Vyper), after one STOP byte.
MAX_PROGRAM: constant(uint256) = 20480
MAX_NODES: constant(uint256) = 4096
MAX_SESSION: constant(uint256) = 39648
MAX_OPEN_BUSES: constant(uint256) = 16
# the widest matrix the row kernel's callers take (their buffers are EVM memory, charged
# quadratically in every transaction; the segment's widest matrix has 218 columns)
KERNEL_MAX_WIDTH: constant(uint256) = 256
KERNEL_MAX_SLOTS: constant(uint256) = 192
M32: constant(uint256) = 4294967295
M64: constant(uint256) = 18446744073709551615
M128: constant(uint256) = 340282366920938463463374607431768211455
# the low 32 bits of each 64-bit lane; 2^32 - p in each; bit 32 of each (canonical checks of
# eight little-endian words at once, queries.vy)
EVEN_LANES: constant(uint256) = 26959946660873538060741835960174461801791452538186943042387869433855
LANE_BIAS: constant(uint256) = 14322471660646675656306593745635149180578925623606730618157846757375
LANE_CARRIES: constant(uint256) = 26959946667150639796128516724350533591920057417771119838357381709824
# 0x00ff00ff... and 0x0000ffff0000ffff... (256 bits): byte and half-word lanes for _bswap32x8
MASK_BYTES: constant(uint256) = 450552876409790643671482431940419874915447411150352389258589821042463539455
MASK_HALVES: constant(uint256) = 1766820105243087041267848467410591083712559083657179364930612997358944255

TRANSCRIPT_LABEL: constant(Bytes[32]) = b"zkmips-stark-v1"
SHARED_LABEL: constant(Bytes[32]) = b"zkmips-shared-logup-v1"
BINDING_LABEL: constant(Bytes[32]) = b"zkmips-proof-binding-v1"
VK_DOMAIN: constant(Bytes[32]) = b"zkmips-vk-v2"

struct Session:
    statement: bytes32
    lb: uint256
    salt: uint256
    log_max: uint256
    num_queries: uint256
    roots: DynArray[bytes32, 4]
    round_log: DynArray[uint256, 4]
    mask_root: bytes32
    # matrices in blob order (round, then height descending, then commit order):
    # log_h << 32 | width << 16 | round << 8 | last-of-its-height-group flag
    mats: DynArray[uint256, MAX_MATS]
    # per matrix in blob order: its first slot; slots of a matrix are consecutive
    mat_slot: DynArray[uint256, MAX_MATS]
    mat_points: DynArray[uint256, MAX_MATS]
    slot_group: DynArray[uint256, MAX_SLOTS]
    slot_offset: DynArray[uint256, MAX_SLOTS]
    group_h: DynArray[uint256, MAX_GROUPS]
    group_z: DynArray[uint256, MAX_GROUPS]
    group_v: DynArray[uint256, MAX_GROUPS]
    alpha: uint256
    max_width: uint256
    arities: DynArray[uint256, MAX_LAYERS]
    betas: DynArray[uint256, MAX_LAYERS]
    fri_roots: DynArray[bytes32, MAX_LAYERS]
    final_poly: DynArray[uint256, MAX_FINAL]
    indices: DynArray[uint256, MAX_QUERIES]

struct Tab:
    pre_w: uint256
    main_w: uint256
    perm_w: uint256
    degree: uint256
    npub: uint256
    nbus: uint256
    bus_off: uint256


@internal
@pure
def table(circuit: Bytes[MAX_CIRCUIT], t: uint256) -> Tab:
    w: uint256 = extract32(circuit, 16 + 16 * t, output_type=uint256)
    return Tab(pre_w=w >> 240, main_w=(w >> 224) & 65535, perm_w=(w >> 208) & 65535,
               degree=(w >> 200) & 255, npub=(w >> 192) & 255, nbus=(w >> 184) & 255,
               bus_off=(w >> 168) & 65535)


struct Ctx:
    # circuit parameters
    lb: uint256
    nq: uint256
    pow_bits: uint256
    log_final: uint256
    max_arity: uint256
    batch_pow: uint256
    commit_pow: uint256
    salt: uint256
    extra: uint256
    nt: uint256
    nbuses: uint256
    max_log_h: uint256
    open_mask: uint256
    # challenges
    z: uint256
    beta: uint256
    alpha: uint256
    zeta: uint256


@internal
@pure
def bswap32x8(x: uint256) -> uint256:
    """Reverse the bytes inside each 32-bit lane of a 256-bit word (LE words <-> BE)."""
    y: uint256 = ((x & MASK_BYTES) << 8) | ((x >> 8) & MASK_BYTES)
    return ((y & MASK_HALVES) << 16) | ((y >> 16) & MASK_HALVES)


@internal
@pure
def canonical8(y: uint256) -> bool:
    """Whether all eight 32-bit lanes of `y` are below p: adding 2^32 - p to the even and
    the odd lanes (64 bits apart, so no carry reaches a neighbour) carries out of none."""
    return (unsafe_add(y & EVEN_LANES, LANE_BIAS) | unsafe_add((y >> 32) & EVEN_LANES, LANE_BIAS)) & LANE_CARRIES == 0


@internal
@pure
def ext_le(word: uint256) -> uint256:
    """The extension element whose 16 little-endian bytes start `word` (a 32-byte read),
    packed; reverts unless every coefficient is canonical."""
    y: uint256 = self.bswap32x8(word)
    assert self.canonical8(y >> 128), "non-canonical field element"
    return (y >> 224) | (((y >> 192) & M32) << 64) | (((y >> 160) & M32) << 128) | (((y >> 128) & M32) << 192)


@internal
@pure
def base_le(word: uint256) -> uint256:
    """The base element in the first 4 little-endian bytes of `word`."""
    y: uint256 = self.bswap32x8(word)
    c: uint256 = y >> 224
    assert c < bb.P, "non-canonical field element"
    return c


@internal
@pure
def times_x(a: uint256, t: uint256) -> uint256:
    """a * X^t in F_p[X]/(X^4 - W), t < 4 (a coefficient rotation)."""
    r: uint256 = a
    for _: uint256 in range(t, bound=3):
        top: uint256 = r >> 192
        r = ((r << 64) & (M64 | (M64 << 64) | (M64 << 128) | (M64 << 192))) | ((top * bb.W) % bb.P)
    return r


@internal
@pure
def next_pow2(x: uint256) -> uint256:
    r: uint256 = 1
    for _: uint256 in range(64):
        if r >= x:
            break
        r <<= 1
    return r


@internal
@pure
def num_chunks(degree: uint256, log_n: uint256, mask: uint256) -> uint256:
    """prover/stark.py num_chunks."""
    n: uint256 = 1 << log_n
    top: uint256 = (degree - 1) * n + degree * mask + 2 - degree
    need: uint256 = max((top + n - 1) // n, 1)
    return self.next_pow2(need)


# ----------------------------------------------------------------------------- step 1
@internal
@pure
def recombine2(word_a: uint256, word_b: uint256) -> uint256:
    """recombine from the 64 contiguous bytes v0 || v1 (word_a) || v2 || v3 (word_b): the
    coefficients of sum_t v_t X^t, X^4 = W, like a product's."""
    a: uint256 = self.bswap32x8(word_a)
    b: uint256 = self.bswap32x8(word_b)
    assert self.canonical8(a) and self.canonical8(b), "non-canonical field element"
    # lanes from the top: a = v0_0 v0_1 v0_2 v0_3 v1_0 v1_1 v1_2 v1_3, b = v2_0 .. v2_3 v3_0 .. v3_3
    r0: uint256 = unsafe_add(a >> 224, unsafe_mul(bb.W, unsafe_add(unsafe_add(a & M32, (b >> 160) & M32),
                                                                  (b >> 64) & M32))) % bb.P
    r1: uint256 = unsafe_add(unsafe_add((a >> 192) & M32, (a >> 96) & M32),
                             unsafe_mul(bb.W, unsafe_add((b >> 128) & M32, (b >> 32) & M32))) % bb.P
    r2: uint256 = unsafe_add(unsafe_add((a >> 160) & M32, (a >> 64) & M32),
                             unsafe_add(b >> 224, unsafe_mul(bb.W, b & M32))) % bb.P
    r3: uint256 = unsafe_add(unsafe_add((a >> 128) & M32, (a >> 32) & M32),
                             unsafe_add((b >> 192) & M32, (b >> 96) & M32)) % bb.P
    return r0 | (r1 << 64) | (r2 << 128) | (r3 << 192)
