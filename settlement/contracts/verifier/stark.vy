# pragma version ~=0.4.3
# pragma optimize gas
"""
@title zkMIPS STARK verifier, step 1 (`begin`) and the circuit registry
@notice Replays prover/stark.py's verifier on the EVM in steps that each stay under the block
        gas limit, as StarkEx's verifier records verified facts:
          1. `begin` (this contract) replays the whole Fiat-Shamir transcript (every challenge,
             every grinding nonce), has `ood.vy` check every table's constraints at the
             out-of-domain point zeta by interpreting the constraint programs generated from
             the AIR (settlement/evm_air.py), checks the LogUp bus sums, and precomputes the
             batched DEEP values; it opens the session in `queries.vy` and emits it.
          2. `queries.vy` `verify_queries` checks the FRI queries of a session in batches; after
             the last one the proof's statement digest is a fact there.
        Layouts of every calldata blob: settlement/evm_stark.py (docs/onchain-verifier.md).
@dev    Only proofs bound to a shared seed (the segmented receipts' proofs) of circuits with LogUp
        interactions (a permutation round) are accepted.
        Circuits (a proof system at one FRI preset) are registered once, by the deployer, with
        the programs of their tables stored as contract code.
"""

from verifier import babybear as bb
from verifier import transcript as tr
from verifier import proofdata as pd

interface IOod:
    def check_tables(c: pd.Ctx, programs: DynArray[address, pd.MAX_TABLES], circuit: Bytes[pd.MAX_CIRCUIT],
                     head: Bytes[pd.MAX_HEAD], pub_off: DynArray[uint256, pd.MAX_TABLES], sums_off: uint256,
                     heights: DynArray[uint256, pd.MAX_TABLES], opened: Bytes[pd.MAX_OPENED]) -> bool: view

    def layout(c: pd.Ctx, circuit: Bytes[pd.MAX_CIRCUIT], heights: DynArray[uint256, pd.MAX_TABLES],
               pre_root: bytes32, main_root: bytes32, perm_root: bytes32, quotient_root: bytes32,
               opened: Bytes[pd.MAX_OPENED], sess: pd.Session) -> pd.Session: view

interface IQueries:
    def open(session: bytes32): nonpayable

event CircuitRegistered:
    circuit: indexed(bytes32)
    digest: bytes32

event SessionOpened:
    session: indexed(bytes32)
    statement: indexed(bytes32)
    data: Bytes[pd.MAX_SESSION]

OOD: public(immutable(IOod))
QUERIES: public(immutable(IQueries))
owner: public(address)
# keccak(circuit blob) -> the circuit digest that verifying keys hash (prover/stark.py)
circuit_digest: public(HashMap[bytes32, bytes32])
programs: public(HashMap[bytes32, DynArray[address, pd.MAX_TABLES]])


@deploy
def __init__(ood: address, queries: address):
    OOD = IOod(ood)
    QUERIES = IQueries(queries)
    self.owner = msg.sender


@external
def register_circuit(circuit: Bytes[pd.MAX_CIRCUIT], digest: bytes32, programs: DynArray[address, pd.MAX_TABLES]):
    """Pin a circuit: its shape, the digest its verifying keys hash, and its tables'
    constraint programs (stored as the code of `programs`, one contract per table)."""
    assert msg.sender == self.owner, "only the deployer registers circuits"
    cid: bytes32 = keccak256(circuit)
    assert self.circuit_digest[cid] == empty(bytes32), "circuit already registered"
    assert len(programs) == convert(slice(circuit, 9, 1), uint256), "one program per table"
    self.programs[cid] = programs
    self.circuit_digest[cid] = digest
    log CircuitRegistered(circuit=cid, digest=digest)


@external
def begin(circuit: Bytes[pd.MAX_CIRCUIT], pre_root: bytes32, pre_heights: Bytes[pd.MAX_TABLES], seed: bytes32,
          head: Bytes[pd.MAX_HEAD], opened: Bytes[pd.MAX_OPENED], fri_head: Bytes[pd.MAX_FRI_HEAD]) -> bytes32:
    """Step 1 of a proof (see the contract's notice). Returns the session id."""
    cid: bytes32 = keccak256(circuit)
    cdigest: bytes32 = self.circuit_digest[cid]
    assert cdigest != empty(bytes32), "unknown circuit"
    hw: uint256 = extract32(circuit, 0, output_type=uint256)
    c: pd.Ctx = empty(pd.Ctx)
    c.lb = hw >> 248
    c.nq = (hw >> 240) & 255
    c.pow_bits = (hw >> 232) & 255
    c.log_final = (hw >> 224) & 255
    c.max_arity = (hw >> 216) & 255
    c.batch_pow = (hw >> 208) & 255
    c.commit_pow = (hw >> 200) & 255
    c.salt = (hw >> 192) & 255
    c.extra = (hw >> 184) & 255
    c.nt = (hw >> 176) & 255
    c.nbuses = (hw >> 168) & 255
    c.max_log_h = (hw >> 160) & 255
    c.open_mask = (hw >> 128) & pd.M32
    assert len(pre_heights) == c.nt, "one preprocessed height per table"

    # -- the header stream: vk digest, heights, publics, main root, seed, perm root, sums, quotient root
    vk: bytes32 = keccak256(concat(pd.VK_DOMAIN, cdigest, pre_heights, pre_root))
    assert extract32(head, 0) == vk, "proof names another verifying key"
    off: uint256 = 32
    heights: DynArray[uint256, pd.MAX_TABLES] = []
    pub_off: DynArray[uint256, pd.MAX_TABLES] = []
    for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
        lh: uint256 = pd.base_le(extract32(head, off + 4 * t, output_type=uint256))
        assert lh >= 1 and lh <= c.max_log_h - c.extra, "bad table height"
        ph: uint256 = convert(slice(pre_heights, t, 1), uint256)
        if pd.table(circuit, t).pre_w > 0:
            assert ph == lh, "height differs from the preprocessed columns"
        else:
            assert ph == 0, "a preprocessed height for a table without preprocessed columns"
        heights.append(lh)
    off += 4 * c.nt
    for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
        pub_off.append(off)
        off += 4 * pd.table(circuit, t).npub
    publics_end: uint256 = off
    main_root: bytes32 = extract32(head, off)
    assert extract32(head, off + 32) == seed, "proof is bound to another seed"
    binding_end: uint256 = off + 32
    perm_root: bytes32 = extract32(head, off + 64)
    off += 96
    sums_off: uint256 = off
    totals: DynArray[uint256, 32] = []
    for b: uint256 in range(c.nbuses, bound=32):
        totals.append(0)
    for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
        tb: pd.Tab = pd.table(circuit, t)
        for i: uint256 in range(tb.nbus, bound=32):
            bus: uint256 = convert(slice(circuit, tb.bus_off + i, 1), uint256)
            totals[bus] = bb.e_add(totals[bus], pd.ext_le(extract32(head, off, output_type=uint256)))
            off += 16
    quotient_root: bytes32 = extract32(head, off)
    assert len(head) == off + 32, "header has the wrong length"
    open_totals: DynArray[uint256, pd.MAX_OPEN_BUSES] = []
    for b: uint256 in range(c.nbuses, bound=32):
        if (c.open_mask >> b) & 1 == 1:
            open_totals.append(totals[b])
        else:
            assert totals[b] == 0, "a LogUp bus does not balance"

    # -- challenges: LogUp (z, beta) from the shared seed; alpha; zeta
    s: tr.Sampler = tr.sampler(keccak256(concat(keccak256(concat(b"zkmips-transcript-v1", pd.SHARED_LABEL)), b"\x00", seed)))
    s, c.z = tr.sample_ext(s)
    s, c.beta = tr.sample_ext(s)
    state: bytes32 = keccak256(concat(keccak256(concat(b"zkmips-transcript-v1", pd.TRANSCRIPT_LABEL)), b"\x00",
                                      slice(head, 0, off)))
    s = tr.sampler(state)
    s, c.alpha = tr.sample_ext(s)
    state = keccak256(concat(state, b"\x00", quotient_root))
    s = tr.sampler(state)
    s, c.zeta = tr.sample_ext(s)

    # proof binding (prover/stark.py proof_binding): 8 words of a transcript over the header
    bs: tr.Sampler = tr.sampler(keccak256(concat(keccak256(concat(b"zkmips-transcript-v1", pd.BINDING_LABEL)), b"\x00",
                                                 slice(head, 0, binding_end))))
    bwords: uint256 = 0
    for i: uint256 in range(8):
        wv: uint256 = 0
        bs, wv = tr.sample_base(bs)
        bwords = (bwords << 32) | pd.bswap32x8(wv << 224) >> 224
    binding: bytes32 = keccak256(convert(bwords, bytes32))

    # -- out-of-domain checks, table by table, reading the opened values in place
    assert staticcall OOD.check_tables(c, self.programs[cid], circuit, head, pub_off, sums_off, heights, opened)

    # -- the opened stream absorbed; the FRI head's batching nonce; alpha
    state = keccak256(concat(state, b"\x00", opened))
    fo: uint256 = 0
    assert tr.pow_ok(state, self._u64(fri_head, fo), c.batch_pow), "batching proof of work is invalid"
    state = keccak256(concat(state, b"\x00", slice(fri_head, fo, 8)))
    fo += 8
    s = tr.sampler(state)
    sess: pd.Session = empty(pd.Session)
    sess.lb = c.lb
    sess.salt = c.salt
    sess.num_queries = c.nq
    s, sess.alpha = tr.sample_ext(s)
    # -- the session's DEEP bookkeeping: the opened stream's layout and the DEEP values
    sess = staticcall OOD.layout(c, circuit, heights, pre_root, main_root, perm_root, quotient_root, opened, sess)

    # -- the rest of the FRI head: per layer (root, nonce), final polynomial, query nonce
    # fold schedule (prover/fri.py fold_schedule)
    hs: DynArray[uint256, pd.MAX_GROUPS] = self._heights_desc(sess)
    final_log: uint256 = min(c.log_final + c.lb, hs[len(hs) - 1])
    cur: uint256 = hs[0]
    hi: uint256 = 1
    for _: uint256 in range(pd.MAX_LAYERS):
        if cur <= final_log:
            break
        stop: uint256 = final_log
        if hi < len(hs) and hs[hi] > final_log:
            stop = hs[hi]
        k: uint256 = min(c.max_arity, cur - stop)
        sess.arities.append(k)
        cur -= k
        if hi < len(hs) and cur == hs[hi]:
            hi += 1
        root: bytes32 = extract32(fri_head, fo)
        sess.fri_roots.append(root)
        state = keccak256(concat(state, b"\x00", root))
        assert tr.pow_ok(state, self._u64(fri_head, fo + 32), c.commit_pow), "commit-phase proof of work is invalid"
        state = keccak256(concat(state, b"\x00", slice(fri_head, fo + 32, 8)))
        fo += 40
        s = tr.sampler(state)
        beta: uint256 = 0
        s, beta = tr.sample_ext(s)
        sess.betas.append(beta)
    final_len: uint256 = 1 << (final_log - c.lb)
    state = keccak256(concat(state, b"\x00", slice(fri_head, fo, 16 * final_len)))
    for i: uint256 in range(final_len, bound=pd.MAX_FINAL):
        sess.final_poly.append(pd.ext_le(extract32(fri_head, fo + 16 * i, output_type=uint256)))
    fo += 16 * final_len
    assert tr.pow_ok(state, self._u64(fri_head, fo), c.pow_bits), "query proof of work is invalid"
    state = keccak256(concat(state, b"\x00", slice(fri_head, fo, 8)))
    assert len(fri_head) == fo + 8 + 32, "FRI header has the wrong length"
    s = tr.sampler(state)
    for q: uint256 in range(c.nq, bound=pd.MAX_QUERIES):
        ix: uint256 = 0
        s, ix = tr.sample_bits(s, sess.log_max)
        sess.indices.append(ix)

    sess.statement = keccak256(abi_encode(vk, seed, binding, keccak256(slice(head, 32, publics_end - 32)),
                                          open_totals, c.z, c.beta))
    data: Bytes[pd.MAX_SESSION] = abi_encode(sess)
    sid: bytes32 = keccak256(data)
    extcall QUERIES.open(sid)
    log SessionOpened(session=sid, statement=sess.statement, data=data)
    return sid


@internal
@pure
def _u64(b: Bytes[pd.MAX_FRI_HEAD], off: uint256) -> uint64:
    return convert(extract32(b, off, output_type=uint256) >> 192, uint64)



# ----------------------------------------------------------------------------- DEEP bookkeeping
@internal
@pure
def _heights_desc(sess: pd.Session) -> DynArray[uint256, pd.MAX_GROUPS]:
    """The distinct LDE heights of the committed matrices (the groups'), tallest first."""
    present: uint256 = 0
    for g: uint256 in range(len(sess.group_h), bound=pd.MAX_GROUPS):
        present |= 1 << sess.group_h[g]
    out: DynArray[uint256, pd.MAX_GROUPS] = []
    for d: uint256 in range(64):
        if d > sess.log_max:
            break
        if (present >> (sess.log_max - d)) & 1 == 1:
            out.append(sess.log_max - d)
    return out


