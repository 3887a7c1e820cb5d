# pragma version ~=0.4.3
# pragma optimize gas
"""
@title zkMIPS STARK verifier, step 2: the FRI queries, and the verified facts
@notice Continues a session that `stark.vy` opened: per query, the Merkle openings of every
        committed round, the batched DEEP quotient there, every FRI layer's opening and fold,
        and the final polynomial. Batches come in order; after the last query of a session its
        statement digest is a fact (`facts`), what `receipt.vy` asks about.
"""

from verifier import babybear as bb
from verifier import proofdata as pd

event ProofVerified:
    statement: indexed(bytes32)

# the row-combination kernel (settlement/evm_row_kernel.py: assembled, stateless)
ROW_KERNEL: public(immutable(address))
# What the kernel is given is sized for the circuits it serves (every static buffer costs
# EVM memory, charged quadratically, in every transaction): per query a window of ROW_WINDOW
# bytes of the blob, where the query's bytes must fit (a blob is at least this long:
# settlement/evm_stark.py query_blob pads it); the powers of alpha up to twice the widest
# matrix; a record per slot (proofdata.vy KERNEL_MAX_*: wider circuits are refused here).
ROW_WINDOW: public(constant(uint256)) = 32768
# 1/GENERATOR, the first FRI layer's coset shift's inverse (prover/field.py)
GENERATOR_INV: constant(uint256) = 64944062
# the kernel input's per-batch part: abi_encode(powers, mat_recs, slot_recs, ng, walk, fri), the
# walk a header per round and a record per height group, fri what its DEEP and FRI section needs
# (settlement/evm_deep_fri.py fri_words: a head, the final polynomial, three words a group, eight
# a layer); its output: the groups' sums, the roots, the section's status
KERNEL_MAX_LAYERS: constant(uint256) = 24
KERNEL_MAX_FINAL: constant(uint256) = 32
MAX_WALK: constant(uint256) = 4 + pd.MAX_GROUPS + 2 + 2 * KERNEL_MAX_LAYERS
MAX_FRI_WORDS: constant(uint256) = 5 + KERNEL_MAX_FINAL + 3 * pd.MAX_GROUPS + 8 * KERNEL_MAX_LAYERS
KERNEL_HEAD: constant(uint256) = 192 + 32 * (5 + pd.KERNEL_MAX_WIDTH + pd.MAX_MATS + 5 * pd.KERNEL_MAX_SLOTS + MAX_WALK
                                             + MAX_FRI_WORDS)
KERNEL_OUT: constant(uint256) = 32 * (pd.MAX_GROUPS + 4 + 1 + KERNEL_MAX_LAYERS + 1)
owner: public(address)
opener: public(address)
# session id (keccak of its encoding) -> 1 + queries verified so far (0: unknown)
progress: public(HashMap[bytes32, uint256])
facts: public(HashMap[bytes32, bool])


@deploy
def __init__(row_kernel: address):
    ROW_KERNEL = row_kernel
    self.owner = msg.sender


@external
def set_opener(opener: address):
    """Once, by the deployer: the `stark.vy` contract whose sessions this one continues."""
    assert msg.sender == self.owner and self.opener == empty(address), "opener is set once, by the deployer"
    self.opener = opener


@external
def open(session: bytes32):
    assert msg.sender == self.opener, "only the STARK verifier opens sessions"
    assert self.progress[session] == 0, "session already open"
    self.progress[session] = 1


@external
def verify_queries(session_data: Bytes[pd.MAX_SESSION], count: uint256):
    """Step 2: the next `count` queries of a session. Their data (the blob: settlement/
    evm_stark.py query_blob) follows the ABI-encoded arguments in the calldata, unencoded,
    and is read in place: as a `Bytes` argument it would be copied whole into memory, and
    256 KB of memory cost ~0.4 M gas a transaction."""
    blob_at: uint256 = 100 + (len(session_data) + 31) // 32 * 32
    assert len(msg.data) >= blob_at + ROW_WINDOW, "query data has the wrong length"
    blob_len: uint256 = len(msg.data) - blob_at
    sid: bytes32 = keccak256(session_data)
    done: uint256 = self.progress[sid]
    assert done != 0, "unknown session"
    sess: pd.Session = abi_decode(session_data, pd.Session)
    q0: uint256 = done - 1
    assert count > 0 and q0 + count <= sess.num_queries, "no such queries"
    # what the row-combination kernel needs of the proof, once per batch: alpha^c, packed;
    # every slot's record (its group, and its offset times X^t, t < 4: evm_row_kernel.slot_record);
    # the matrices' records, from the first query's walk (the layout is the same for every query)
    assert sess.max_width <= pd.KERNEL_MAX_WIDTH and len(sess.slot_group) <= pd.KERNEL_MAX_SLOTS, \
        "the circuit's matrices exceed the row kernel's bounds"
    assert len(sess.arities) <= KERNEL_MAX_LAYERS and len(sess.final_poly) <= KERNEL_MAX_FINAL, \
        "the circuit's FRI layers exceed the row kernel's bounds"
    powers: DynArray[uint256, pd.KERNEL_MAX_WIDTH] = []
    ap: uint256 = 1
    # (twice the widest matrix: a joined row of several matrices, below, may be wider)
    for c: uint256 in range(min(2 * sess.max_width, pd.KERNEL_MAX_WIDTH), bound=pd.KERNEL_MAX_WIDTH):
        powers.append(ap)
        ap = bb.e_mul(ap, sess.alpha)
    slot_recs: DynArray[uint256, 5 * pd.KERNEL_MAX_SLOTS] = []
    for s: uint256 in range(len(sess.slot_group), bound=pd.KERNEL_MAX_SLOTS):
        o: uint256 = sess.slot_offset[s]
        slot_recs.append(sess.slot_group[s])
        slot_recs.append(o)
        for _: uint256 in range(3):
            o = pd.times_x(o, 1)
            slot_recs.append(o)
    mat_recs: DynArray[uint256, pd.MAX_MATS] = []
    run_end: uint256 = 0
    kernel_head: Bytes[KERNEL_HEAD] = b""
    ng: uint256 = len(sess.group_h)
    # per FRI layer, the same for every query: the inverse of the layer's coset shift; the final
    # layer's shift
    nl: uint256 = len(sess.arities)
    lay_cinv: uint256[KERNEL_MAX_LAYERS] = empty(uint256[KERNEL_MAX_LAYERS])
    coset: uint256 = pd.GEN
    coset_inv: uint256 = GENERATOR_INV
    for i: uint256 in range(nl, bound=KERNEL_MAX_LAYERS):
        ar: uint256 = 1 << sess.arities[i]
        lay_cinv[i] = coset_inv
        coset = bb.pow(coset, ar)
        coset_inv = bb.pow(coset_inv, ar)
    pos: uint256 = 0
    rows_span: uint256 = 0
    mask_at: uint256 = 0
    fri_at: uint256[KERNEL_MAX_LAYERS] = empty(uint256[KERNEL_MAX_LAYERS])
    walk: DynArray[uint256, MAX_WALK] = []
    for q: uint256 in range(count, bound=pd.MAX_QUERIES):
        idx: uint256 = sess.indices[q0 + q]
        qstart: uint256 = pos
        if q == 0:
            # the layout of a query's rounds, the same for every query: per round, its
            # matrices' rows grouped by height (each group followed by its salt), then the
            # siblings of its Merkle path; the kernel's records of it
            mi: uint256 = 0
            for r: uint256 in range(len(sess.roots), bound=4):
                tl: uint256 = sess.round_log[r]
                head_at: uint256 = len(walk)
                walk.append(0)
                gstart: uint256 = pos
                level: uint256 = 0
                for _: uint256 in range(pd.MAX_MATS):
                    if mi == len(sess.mats) or (sess.mats[mi] >> 8) & 255 != r:
                        break
                    x: uint256 = sess.mats[mi]
                    w: uint256 = (x >> 16) & 65535
                    # the matrix's kernel record (evm_row_kernel.mat_record), or the last record
                    # widened when this row follows it in the blob and continues it in every
                    # group it is summed in (the same groups, each offset the last one's times
                    # alpha^width): sum_c alpha^c v_c over the joined row, times the first
                    # offsets, is both matrices' terms, in one long row instead of two short
                    # ones (a table's quotient chunks are four columns each)
                    slot: uint256 = sess.mat_slot[mi]
                    points: uint256 = sess.mat_points[mi]
                    n: uint256 = len(mat_recs)
                    join: bool = False
                    if run_end == pos and n != 0:
                        last: uint256 = mat_recs[n - 1]
                        lw: uint256 = last & 65535
                        ls: uint256 = (last >> 24) & 65535
                        join = (last >> 16) & 255 == points and lw + w <= len(powers)
                        for p: uint256 in range(points, bound=2):
                            if join:
                                join = sess.slot_group[ls + p] == sess.slot_group[slot + p] and \
                                    bb.e_mul(sess.slot_offset[ls + p], powers[lw]) == sess.slot_offset[slot + p]
                        if join:
                            mat_recs[n - 1] = last + w
                    if not join:
                        mat_recs.append((pos << 40) | (slot << 24) | (points << 16) | w)
                    pos += 4 * w
                    run_end = pos
                    if x & 1 == 1:
                        # a height group ends: its digest is the leaf (the first group) or is
                        # injected into the path at the level of its height (heights descend)
                        if len(walk) > head_at + 1:
                            lv: uint256 = tl - (x >> 32) - 1
                            assert lv > level or len(walk) == head_at + 2, "mmcs: injection levels must ascend"
                            assert lv < tl, "mmcs: injection level out of the path"
                            level = lv
                        walk.append((gstart << 64) | ((pos + sess.salt - gstart) << 16) | level)
                        pos += sess.salt
                        gstart = pos
                    mi += 1
                walk[head_at] = (pos << 32) | ((len(walk) - head_at - 1) << 16) | ((sess.log_max - tl) << 8) | tl
                pos += 32 * tl
            # the mask's opening and every FRI layer's: one group each (a row of extension
            # values and its salt), trees of the layer's height
            if sess.mask_root != empty(bytes32):
                mask_at = pos
                walk.append(((pos + 16 + sess.salt) << 32) | (1 << 16) | sess.log_max)
                walk.append((pos << 64) | ((16 + sess.salt) << 16))
                pos += 16 + sess.salt + 32 * sess.log_max
            flh: uint256 = sess.log_max
            for i: uint256 in range(nl, bound=KERNEL_MAX_LAYERS):
                row_bytes: uint256 = 16 * (1 << sess.arities[i]) + sess.salt
                ftl: uint256 = flh - sess.arities[i]
                fri_at[i] = pos
                walk.append(((pos + row_bytes) << 32) | (1 << 16) | ((sess.log_max - ftl) << 8) | ftl)
                walk.append((pos << 64) | (row_bytes << 16))
                pos += row_bytes + 32 * ftl
                flh = ftl
            rows_span = pos
            # the DEEP and FRI section's words (evm_deep_fri.fri_words)
            fri: DynArray[uint256, MAX_FRI_WORDS] = [sess.log_max, 0, nl, coset, len(sess.final_poly)]
            if sess.mask_root != empty(bytes32):
                fri[1] = mask_at + 1
            for c: uint256 in sess.final_poly:
                fri.append(c)
            for g: uint256 in range(ng, bound=pd.MAX_GROUPS):
                fri.append(sess.group_h[g])
                fri.append(sess.group_z[g])
                fri.append(sess.group_v[g])
            for i: uint256 in range(nl, bound=KERNEL_MAX_LAYERS):
                k: uint256 = sess.arities[i]
                b: uint256 = sess.betas[i]
                fri.append(k)
                fri.append(fri_at[i])
                fri.append(lay_cinv[i])
                fri.append(bb.e_pow(b, 1 << k))
                for t: uint256 in range(4):
                    fri.append(b if t < k else 0)
                    b = bb.e_square(b)
            kernel_head = abi_encode(powers, mat_recs, slot_recs, ng, walk, fri)
        pos = qstart + rows_span
        # the rows' Merkle openings climbed, their values combined with the powers of alpha and
        # summed per (height, point) group, by the kernel (which checks every value canonical)
        win: uint256 = min(qstart, blob_len - ROW_WINDOW)
        assert pos - win <= ROW_WINDOW, "a query's rows exceed the row kernel's window"
        ok: bool = False
        sums: Bytes[KERNEL_OUT] = b""
        ok, sums = raw_call(ROW_KERNEL, concat(convert(64 + len(kernel_head) + qstart - win, bytes32),
                                               convert(idx, bytes32), kernel_head, slice(msg.data, blob_at + win, ROW_WINDOW)),
                            max_outsize=KERNEL_OUT, is_static_call=True, revert_on_failure=False)
        assert ok, "non-canonical field element"
        nr: uint256 = len(sess.roots)
        at: uint256 = 32 * (ng + nr)
        if sess.mask_root != empty(bytes32):
            assert extract32(sums, at) == sess.mask_root, "the mask opening does not match its commitment"
            at += 32
        assert len(sums) == at + 32 * nl + 32, "row kernel: wrong output"
        for r: uint256 in range(nr, bound=4):
            assert extract32(sums, 32 * (ng + r)) == sess.roots[r], "a Merkle opening does not match its commitment"
        for i: uint256 in range(nl, bound=KERNEL_MAX_LAYERS):
            assert extract32(sums, at + 32 * i) == sess.fri_roots[i], "a FRI layer opening does not match its commitment"
        # the batched DEEP quotient at the query and every FRI fold, checked by the kernel
        # (settlement/evm_deep_fri.py): a layer's row holds the folded value, the final
        # polynomial agrees, no denominator x - z is zero
        status: uint256 = extract32(sums, at + 32 * nl, output_type=uint256)
        assert status != 1, "a FRI layer disagrees with the folded value"
        assert status != 2, "the final polynomial disagrees with the folded values"
        assert status == 0, "an out-of-domain point lies on the query's domain"
    assert blob_len == max(pos + 32, ROW_WINDOW), "query data has the wrong length"
    self.progress[sid] = done + count
    if q0 + count == sess.num_queries:
        self.facts[sess.statement] = True
        log ProofVerified(statement=sess.statement)
