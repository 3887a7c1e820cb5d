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
from verifier import fri_fold as ff
from verifier import proofdata as pd
from verifier import mmcs

event ProofVerified:
    statement: indexed(bytes32)

owner: public(address)
opener: public(address)
# session id (keccak of its encoding) -> 1 + queries verified so far (0: unknown)
progress: public(HashMap[bytes32, uint256])
facts: public(HashMap[bytes32, bool])


@deploy
def __init__():
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
def verify_queries(session_data: Bytes[pd.MAX_SESSION], count: uint256, blob: Bytes[pd.MAX_QBLOB]):
    """Step 2: the next `count` queries of a session (layout: settlement/evm_stark.py)."""
    sid: bytes32 = keccak256(session_data)
    done: uint256 = self.progress[sid]
    assert done != 0, "unknown session"
    sess: pd.Session = abi_decode(session_data, pd.Session)
    q0: uint256 = done - 1
    assert count > 0 and q0 + count <= sess.num_queries, "no such queries"
    # alpha^c in 128-bit lanes (proofdata.alpha_lanes)
    c02: uint256[pd.MAX_WIDTH] = empty(uint256[pd.MAX_WIDTH])
    c13: uint256[pd.MAX_WIDTH] = empty(uint256[pd.MAX_WIDTH])
    ap: uint256 = 1
    for c: uint256 in range(sess.max_width, bound=pd.MAX_WIDTH):
        c02[c], c13[c] = pd.alpha_lanes(ap)
        ap = bb.e_mul(ap, sess.alpha)
    ng: uint256 = len(sess.group_h)
    # per FRI layer, the same for every query: the inverse of the layer's coset shift and
    # beta^arity (what a shorter height rolls in with); the final layer's shift
    nl: uint256 = len(sess.arities)
    lay_cinv: uint256[pd.MAX_LAYERS] = empty(uint256[pd.MAX_LAYERS])
    lay_roll: uint256[pd.MAX_LAYERS] = empty(uint256[pd.MAX_LAYERS])
    coset: uint256 = pd.GEN
    coset_inv: uint256 = ff.GENERATOR_INV
    for i: uint256 in range(nl, bound=pd.MAX_LAYERS):
        ar: uint256 = 1 << sess.arities[i]
        lay_cinv[i] = coset_inv
        lay_roll[i] = bb.e_pow(sess.betas[i], ar)
        coset = bb.pow(coset, ar)
        coset_inv = bb.pow(coset_inv, ar)
    pos: uint256 = 0
    for q: uint256 in range(count, bound=pd.MAX_QUERIES):
        idx: uint256 = sess.indices[q0 + q]
        acc: DynArray[uint256, pd.MAX_GROUPS] = []
        for g: uint256 in range(ng, bound=pd.MAX_GROUPS):
            acc.append(0)
        # every round: the rows of its matrices (grouped by height), authenticated
        mi: uint256 = 0
        for r: uint256 in range(len(sess.roots), bound=4):
            tl: uint256 = sess.round_log[r]
            inj_levels: DynArray[uint256, mmcs.MAX_INJECT] = []
            inj_digests: DynArray[bytes32, mmcs.MAX_INJECT] = []
            leaf: bytes32 = empty(bytes32)
            first: bool = True
            gstart: uint256 = pos
            for _: uint256 in range(pd.MAX_MATS):
                if mi == len(sess.mats) or (sess.mats[mi] >> 8) & 255 != r:
                    break
                x: uint256 = sess.mats[mi]
                w: uint256 = (x >> 16) & 65535
                s02: uint256 = 0
                s13: uint256 = 0
                full: uint256 = w >> 3
                for j: uint256 in range(full, bound=128):
                    # eight columns per word: all canonical, then their products
                    y: uint256 = extract32(blob, unsafe_add(pos, j << 5), output_type=uint256)
                    y = ((y & pd.MASK_BYTES) << 8) | ((y >> 8) & pd.MASK_BYTES)
                    y = ((y & pd.MASK_HALVES) << 16) | ((y >> 16) & pd.MASK_HALVES)
                    b: uint256 = j << 3
                    assert (unsafe_add(y & pd.EVEN_LANES, pd.LANE_BIAS) | unsafe_add((y >> 32) & pd.EVEN_LANES, pd.LANE_BIAS)) \
                        & pd.LANE_CARRIES == 0, "non-canonical field element"
                    s02 = unsafe_add(s02, unsafe_add(unsafe_add(unsafe_add(unsafe_mul(y >> 224, c02[b]), unsafe_mul((y >> 192) & pd.M32, c02[unsafe_add(b, 1)])), unsafe_add(unsafe_mul((y >> 160) & pd.M32, c02[unsafe_add(b, 2)]), unsafe_mul((y >> 128) & pd.M32, c02[unsafe_add(b, 3)]))), unsafe_add(unsafe_add(unsafe_mul((y >> 96) & pd.M32, c02[unsafe_add(b, 4)]), unsafe_mul((y >> 64) & pd.M32, c02[unsafe_add(b, 5)])), unsafe_add(unsafe_mul((y >> 32) & pd.M32, c02[unsafe_add(b, 6)]), unsafe_mul(y & pd.M32, c02[unsafe_add(b, 7)])))))
                    s13 = unsafe_add(s13, unsafe_add(unsafe_add(unsafe_add(unsafe_mul(y >> 224, c13[b]), unsafe_mul((y >> 192) & pd.M32, c13[unsafe_add(b, 1)])), unsafe_add(unsafe_mul((y >> 160) & pd.M32, c13[unsafe_add(b, 2)]), unsafe_mul((y >> 128) & pd.M32, c13[unsafe_add(b, 3)]))), unsafe_add(unsafe_add(unsafe_mul((y >> 96) & pd.M32, c13[unsafe_add(b, 4)]), unsafe_mul((y >> 64) & pd.M32, c13[unsafe_add(b, 5)])), unsafe_add(unsafe_mul((y >> 32) & pd.M32, c13[unsafe_add(b, 6)]), unsafe_mul(y & pd.M32, c13[unsafe_add(b, 7)])))))
                if w & 7 != 0:
                    y: uint256 = pd.bswap32x8(extract32(blob, pos + 32 * full, output_type=uint256))
                    for l: uint256 in range(w & 7, bound=8):
                        v: uint256 = (y >> (224 - 32 * l)) & pd.M32
                        assert v < bb.P, "non-canonical field element"
                        s02 = unsafe_add(s02, unsafe_mul(v, c02[(full << 3) + l]))
                        s13 = unsafe_add(s13, unsafe_mul(v, c13[(full << 3) + l]))
                comb: uint256 = pd.from_lanes(s02, s13)
                pos += 4 * w
                for p: uint256 in range(sess.mat_points[mi], bound=2):
                    slot: uint256 = sess.mat_slot[mi] + p
                    g: uint256 = sess.slot_group[slot]
                    acc[g] = bb.e_add(acc[g], bb.e_mul(sess.slot_offset[slot], comb))
                if x & 1 == 1:
                    digest: bytes32 = keccak256(slice(blob, gstart, pos + sess.salt - gstart))
                    pos += sess.salt
                    if first:
                        leaf = digest
                        first = False
                    else:
                        inj_levels.append(tl - (x >> 32) - 1)   # heights descend: levels ascend
                        inj_digests.append(digest)
                    gstart = pos
                mi += 1
            # mmcs.climb, the siblings read in place (leaf level first)
            node: bytes32 = leaf
            ri: uint256 = idx >> (sess.log_max - tl)
            ni: uint256 = len(inj_levels)
            ji: uint256 = 0
            nxt: uint256 = max_value(uint256)
            if ni != 0:
                nxt = inj_levels[0]
            for k: uint256 in range(tl, bound=mmcs.MAX_LEVELS):
                if (ri >> k) & 1 != 0:
                    node = keccak256(concat(extract32(blob, pos), node))
                else:
                    node = keccak256(concat(node, extract32(blob, pos)))
                pos = unsafe_add(pos, 32)
                if k == nxt:
                    node = keccak256(concat(node, inj_digests[ji]))
                    ji = unsafe_add(ji, 1)
                    nxt = max_value(uint256)
                    if ji < ni:
                        nxt = inj_levels[ji]
                        assert nxt > k, "mmcs: injection levels must ascend"
            assert ji == ni, "mmcs: injection level out of the path"
            assert node == sess.roots[r], "a Merkle opening does not match its commitment"
        # the batched DEEP quotient per height: sum_g (acc_g - V_g) / (x_h - z_g), one inversion
        red: uint256[64] = empty(uint256[64])
        red_set: uint256 = 0
        xs: uint256[64] = empty(uint256[64])
        dens: DynArray[uint256, pd.MAX_GROUPS] = []
        prefix: DynArray[uint256, pd.MAX_GROUPS] = []
        run: uint256 = 1
        for g: uint256 in range(ng, bound=pd.MAX_GROUPS):
            h: uint256 = sess.group_h[g]
            if xs[h] == 0:
                xs[h] = ff.query_point(idx >> (sess.log_max - h), h)
            d: uint256 = bb.e_sub(xs[h], sess.group_z[g])
            dens.append(d)
            prefix.append(run)
            run = bb.e_mul(run, d)
        inv: uint256 = bb.e_inv(run)
        for j: uint256 in range(ng, bound=pd.MAX_GROUPS):
            g: uint256 = ng - 1 - j
            dinv: uint256 = bb.e_mul(inv, prefix[g])
            inv = bb.e_mul(inv, dens[g])
            h: uint256 = sess.group_h[g]
            red[h] = bb.e_add(red[h], bb.e_mul(bb.e_sub(acc[g], sess.group_v[g]), dinv))
            red_set |= 1 << h
        if sess.mask_root != empty(bytes32):
            m: uint256 = pd.ext_le(extract32(blob, pos, output_type=uint256))
            leaf: bytes32 = keccak256(slice(blob, pos, 16 + sess.salt))
            pos += 16 + sess.salt
            for k: uint256 in range(sess.log_max, bound=mmcs.MAX_LEVELS):
                if (idx >> k) & 1 != 0:
                    leaf = keccak256(concat(extract32(blob, pos), leaf))
                else:
                    leaf = keccak256(concat(leaf, extract32(blob, pos)))
                pos = unsafe_add(pos, 32)
            assert leaf == sess.mask_root, "the mask opening does not match its commitment"
            red[sess.log_max] = bb.e_add(red[sess.log_max], m)
        # FRI: every layer's opening and fold, then the final polynomial
        cur: uint256 = red[sess.log_max]
        lh: uint256 = sess.log_max
        index: uint256 = idx
        for i: uint256 in range(nl, bound=pd.MAX_LAYERS):
            k: uint256 = sess.arities[i]
            ar: uint256 = 1 << k
            row: DynArray[uint256, 16] = []
            for j: uint256 in range(ar, bound=16):
                row.append(pd.ext_le(extract32(blob, pos + 16 * j, output_type=uint256)))
            node: bytes32 = keccak256(slice(blob, pos, 16 * ar + sess.salt))
            pos += 16 * ar + sess.salt
            assert row[index & (ar - 1)] == cur, "a FRI layer disagrees with the folded value"
            index >>= k
            for k2: uint256 in range(lh - k, bound=mmcs.MAX_LEVELS):
                if (index >> k2) & 1 != 0:
                    node = keccak256(concat(extract32(blob, pos), node))
                else:
                    node = keccak256(concat(node, extract32(blob, pos)))
                pos = unsafe_add(pos, 32)
            assert node == sess.fri_roots[i], "a FRI layer opening does not match its commitment"
            cur = ff.fold_row_inv(row, index, lh, k, sess.betas[i], lay_cinv[i])
            lh -= k
            if lh != sess.log_max and (red_set >> lh) & 1 == 1:
                cur = bb.e_add(cur, bb.e_mul(red[lh], lay_roll[i]))
        x: uint256 = ff.domain_point(coset, index, lh)
        assert ff.eval_poly(sess.final_poly, x) == cur, "the final polynomial disagrees with the folded values"
    assert len(blob) == pos + 32, "query data has the wrong length"
    self.progress[sid] = done + count
    if q0 + count == sess.num_queries:
        self.facts[sess.statement] = True
        log ProofVerified(statement=sess.statement)
