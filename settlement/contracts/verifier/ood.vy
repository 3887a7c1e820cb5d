# pragma version ~=0.4.3
# pragma optimize gas
"""
@title zkMIPS STARK verifier: the out-of-domain point (a helper of `stark.vy`'s `begin`)
@notice `check_tables`: for every table, C(zeta) == Z_H(zeta) * Q(zeta) (prover/stark.py
        _check_table), with C = sum_i alpha^i C_i evaluated by interpreting the table's
        constraint program, generated from the same AIR expressions the Python prover and
        verifier use (settlement/evm_air.py). `layout` and `deep_values`: the opened values'
        matrices, opening slots and DEEP groups (prover/pcs.py). A contract of its own only
        because the EVM caps code size.
"""

from verifier import babybear as bb
from verifier import fri_fold as ff
from verifier import proofdata as pd


@external
@view
def check_tables(c: pd.Ctx, programs: DynArray[address, pd.MAX_TABLES], circuit: Bytes[pd.MAX_CIRCUIT],
                 head: Bytes[pd.MAX_HEAD], pub_off: DynArray[uint256, pd.MAX_TABLES], sums_off: uint256,
                 heights: DynArray[uint256, pd.MAX_TABLES], opened: Bytes[pd.MAX_OPENED]) -> bool:
    """C(zeta) == Z_H(zeta) * Q(zeta) for every table (prover/stark.py _check_table), the
    constraints evaluated by interpreting the table's program."""
    pre_total: uint256 = 0
    main_total: uint256 = 0
    perm_total: uint256 = 0
    for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
        tb: pd.Tab = pd.table(circuit, t)
        pre_total += 32 * tb.pre_w
        main_total += 32 * tb.main_w
        perm_total += 32 * tb.perm_w
    pre_at: uint256 = 32
    main_at: uint256 = 32
    if pre_total > 0:
        main_at = 64 + pre_total
    perm_at: uint256 = main_at + main_total + 32
    quot_at: uint256 = perm_at + perm_total + 32
    sum_at: uint256 = sums_off
    one: uint256 = 1
    for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
        tb: pd.Tab = pd.table(circuit, t)
        lh: uint256 = heights[t]
        n: uint256 = 1 << lh
        zn: uint256 = bb.e_pow(c.zeta, n)
        zh: uint256 = bb.e_sub(zn, one)
        assert zh != 0, "out-of-domain point lies in the trace domain"
        w_inv: uint256 = ff.two_adic_generator_inv(lh)
        n_inv: uint256 = bb.inv(n % bb.P)
        zeta_minus_winv: uint256 = bb.e_sub(c.zeta, w_inv)
        sels: uint256[3] = [
            bb.e_mul_base(bb.e_mul(zh, bb.e_inv(bb.e_sub(c.zeta, one))), n_inv),
            bb.e_mul_base(bb.e_mul(zh, bb.e_inv(zeta_minus_winv)), bb.mul(w_inv, n_inv)),
            zeta_minus_winv]
        folded: uint256 = self._eval_program(c, programs[t], head, pub_off[t], sum_at, opened,
                                             pre_at, tb.pre_w, main_at, tb.main_w, perm_at, tb.perm_w, sels)
        # Q(zeta) from the chunks
        mask: uint256 = 0
        if c.extra == 1:
            mask = min(n, c.nq + 3)
        k: uint256 = pd.num_chunks(tb.degree, lh, mask)
        log_k: uint256 = 0
        for _: uint256 in range(8):
            if (1 << log_k) >= k:
                break
            log_k += 1
        wk: uint256 = ff.two_adic_generator(lh + log_k)
        sn: DynArray[uint256, 256] = []
        sh: uint256 = pd.GEN
        for i: uint256 in range(k, bound=256):
            sn.append(bb.pow(sh, n))
            sh = bb.mul(sh, wk)
        q: uint256 = 0
        for i: uint256 in range(k, bound=256):
            ci: uint256 = 1
            li: uint256 = 1
            for j: uint256 in range(k, bound=256):
                if j != i:
                    ci = bb.mul(ci, bb.sub(sn[i], sn[j]))
                    li = bb.e_mul(li, bb.e_sub(zn, sn[j]))
            at: uint256 = quot_at + 64 * i
            qi: uint256 = pd.recombine2(extract32(opened, at, output_type=uint256),
                                        extract32(opened, at + 32, output_type=uint256))
            q = bb.e_add(q, bb.e_mul(bb.e_mul_base(li, bb.inv(ci)), qi))
        assert folded == bb.e_mul(zh, q), "constraints do not hold at zeta"
        if tb.pre_w > 0:
            pre_at += 32 * tb.pre_w
        main_at += 32 * tb.main_w
        perm_at += 32 * tb.perm_w
        quot_at += 64 * k
        sum_at += 16 * tb.nbus
    return True


@internal
@view
def _eval_program(c: pd.Ctx, code: address, head: Bytes[pd.MAX_HEAD], pub_at: uint256, sum_at: uint256,
                  opened: Bytes[pd.MAX_OPENED], pre_at: uint256, pre_w: uint256, main_at: uint256, main_w: uint256,
                  perm_at: uint256, perm_w: uint256, sels: uint256[3]) -> uint256:
    """sum_i alpha^i C_i(zeta) by interpreting a program of settlement/evm_air.py."""
    prog: Bytes[pd.MAX_PROGRAM] = slice(code.code, 1, pd.MAX_PROGRAM)
    hw: uint256 = extract32(prog, 0, output_type=uint256)
    nn: uint256 = hw >> 240
    nr: uint256 = (hw >> 224) & 65535
    roots_at: uint256 = 8 + 8 * nn
    ec_at: uint256 = roots_at + 2 * nr
    vals: uint256[pd.MAX_NODES] = empty(uint256[pd.MAX_NODES])
    word: uint256 = 0
    for i: uint256 in range(nn, bound=pd.MAX_NODES):
        # four 8-byte records per 32-byte read
        if i & 3 == 0:
            word = extract32(prog, unsafe_add(8, i << 3), output_type=uint256)
        w: uint256 = word << ((i & 3) << 6)
        op: uint256 = w >> 248
        a: uint256 = (w >> 232) & 65535
        v: uint256 = 0
        if op == 12:
            # bb.e_mul, inlined
            x: uint256 = vals[a]
            y: uint256 = vals[(w >> 216) & 65535]
            w2: uint256 = unsafe_mul(bb.W, (y >> 128) & bb.M64) % bb.P
            w3: uint256 = unsafe_mul(bb.W, y >> 192) % bb.P
            t: uint256 = unsafe_add(
                unsafe_add(unsafe_mul(x & bb.M64, y), unsafe_mul((x >> 64) & bb.M64, (y << 64) | w3)),
                unsafe_add(unsafe_mul((x >> 128) & bb.M64, (y << 128) | (w3 << 64) | w2),
                           unsafe_mul(x >> 192, (y << 192) | (w3 << 128) | (w2 << 64) | (unsafe_mul(bb.W, (y >> 64) & bb.M64) % bb.P))))
            v = ((t & bb.M64) % bb.P) | (((t >> 64) & bb.M64) % bb.P << 64) | (((t >> 128) & bb.M64) % bb.P << 128) | \
                ((t >> 192) % bb.P << 192)
        elif op == 10:
            # bb.e_add, inlined
            s: uint256 = unsafe_add(vals[a], vals[(w >> 216) & 65535])
            v = unsafe_sub(s, unsafe_mul((unsafe_add(s, bb.K) >> 32) & bb.ONES, bb.P))
        elif op == 11:
            # bb.e_sub, inlined
            s: uint256 = unsafe_sub(unsafe_add(vals[a], bb.PP), vals[(w >> 216) & 65535])
            v = unsafe_sub(s, unsafe_mul((unsafe_add(s, bb.K) >> 32) & bb.ONES, bb.P))
        elif op == 0:
            v = pd.ext_le(extract32(opened, unsafe_add(main_at, unsafe_mul(16, unsafe_add(unsafe_mul((w >> 224) & 255, main_w), a))), output_type=uint256))
        elif op == 2:
            at: uint256 = unsafe_add(perm_at, unsafe_mul(16, unsafe_add(unsafe_mul((w >> 224) & 255, perm_w), a << 2)))
            v = pd.recombine2(extract32(opened, at, output_type=uint256), extract32(opened, unsafe_add(at, 32), output_type=uint256))
        elif op == 4:
            v = (w >> 216) & pd.M32
        elif op == 1:
            v = pd.ext_le(extract32(opened, pre_at + 16 * (((w >> 224) & 255) * pre_w + a), output_type=uint256))
        elif op == 3:
            v = sels[(w >> 240) & 255]
        elif op == 5:
            v = pd.base_le(extract32(head, pub_at + 4 * a, output_type=uint256))
        elif op == 6:
            if a == 0:
                v = c.z
            else:
                assert a == 1, "unknown challenge"
                v = c.beta
        elif op == 7:
            v = pd.ext_le(extract32(head, sum_at + 16 * a, output_type=uint256))
        elif op == 8:
            e: uint256 = extract32(prog, ec_at + 16 * a, output_type=uint256)
            v = (e >> 224) | (((e >> 192) & pd.M32) << 64) | (((e >> 160) & pd.M32) << 128) | (((e >> 128) & pd.M32) << 192)
        elif op == 9:
            v = bb.e_neg(vals[a])
        else:
            raise "unknown opcode"
        vals[i] = v
    # sum_i alpha^i C_i by Horner from the last root (bb.e_mul and bb.e_add inlined)
    acc: uint256 = 0
    y: uint256 = c.alpha
    w2: uint256 = unsafe_mul(bb.W, (y >> 128) & bb.M64) % bb.P
    w3: uint256 = unsafe_mul(bb.W, y >> 192) % bb.P
    w1: uint256 = unsafe_mul(bb.W, (y >> 64) & bb.M64) % bb.P
    r1: uint256 = (y << 64) | w3
    r2: uint256 = (y << 128) | (w3 << 64) | w2
    r3: uint256 = (y << 192) | (w3 << 128) | (w2 << 64) | w1
    for j: uint256 in range(nr, bound=pd.MAX_NODES):
        r: uint256 = extract32(prog, roots_at + 2 * (nr - 1 - j), output_type=uint256) >> 240
        t: uint256 = unsafe_add(unsafe_add(unsafe_mul(acc & bb.M64, y), unsafe_mul((acc >> 64) & bb.M64, r1)),
                                unsafe_add(unsafe_mul((acc >> 128) & bb.M64, r2), unsafe_mul(acc >> 192, r3)))
        s: uint256 = unsafe_add(((t & bb.M64) % bb.P) | (((t >> 64) & bb.M64) % bb.P << 64) | (((t >> 128) & bb.M64) % bb.P << 128) |
                                ((t >> 192) % bb.P << 192), vals[r])
        acc = unsafe_sub(s, unsafe_mul((unsafe_add(s, bb.K) >> 32) & bb.ONES, bb.P))
    return acc




# ----------------------------------------------------------------------------- DEEP bookkeeping
@external
@view
def layout(c: pd.Ctx, circuit: Bytes[pd.MAX_CIRCUIT], heights: DynArray[uint256, pd.MAX_TABLES], pre_root: bytes32,
            main_root: bytes32, perm_root: bytes32, quotient_root: bytes32, opened: Bytes[pd.MAX_OPENED],
            sess_in: pd.Session) -> (pd.Session, DynArray[uint256, pd.MAX_SLOTS], DynArray[uint256, pd.MAX_SLOTS]):
    """The committed matrices in commit order (prover/stark.py _verify's pcs_rounds), their
    opening slots and groups (one per LDE height and point), checked against the opened
    stream's layout; then the matrices in Merkle-blob order."""
    sess: pd.Session = sess_in
    cm: DynArray[uint256, pd.MAX_MATS] = []      # log_h << 32 | width << 16 | round << 8 | points
    slot_w: DynArray[uint256, pd.MAX_SLOTS] = []
    slot_at: DynArray[uint256, pd.MAX_SLOTS] = []
    cm_slot: DynArray[uint256, pd.MAX_MATS] = []
    at: uint256 = 0
    rounds: uint256 = 0
    for r: uint256 in range(4):
        root: bytes32 = empty(bytes32)
        if r == 0:
            has_pre: bool = False
            for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
                if pd.table(circuit, t).pre_w > 0:
                    has_pre = True
            if not has_pre:
                continue
            root = pre_root
        elif r == 1:
            root = main_root
        elif r == 2:
            root = perm_root
        else:
            root = quotient_root
        assert extract32(opened, at) == root, "opened values name another commitment"
        at += 32
        sess.roots.append(root)
        top: uint256 = 0
        for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
            tb: pd.Tab = pd.table(circuit, t)
            lh: uint256 = heights[t]
            nxt: uint256 = bb.e_mul_base(c.zeta, ff.two_adic_generator(lh))
            w: uint256 = 0
            h: uint256 = lh + c.extra + c.lb
            count: uint256 = 1
            pts: uint256 = 2
            if r == 0:
                w = tb.pre_w
                h = lh + c.lb
            elif r == 1:
                w = tb.main_w
            elif r == 2:
                w = tb.perm_w
            else:
                w = 4
                pts = 1
                mask: uint256 = 0
                if c.extra == 1:
                    mask = min(1 << lh, c.nq + 3)
                count = pd.num_chunks(tb.degree, lh, mask)
            if w == 0:
                continue
            top = max(top, h)
            for _: uint256 in range(count, bound=256):
                cm.append((h << 32) | (w << 16) | (rounds << 8) | pts)
                cm_slot.append(len(slot_w))
                for p: uint256 in range(pts, bound=2):
                    z: uint256 = c.zeta
                    if p == 1:
                        z = nxt
                    g: uint256 = len(sess.group_h)
                    for k: uint256 in range(len(sess.group_h), bound=pd.MAX_GROUPS):
                        if sess.group_h[k] == h and sess.group_z[k] == z:
                            g = k
                            break
                    if g == len(sess.group_h):
                        sess.group_h.append(h)
                        sess.group_z.append(z)
                        sess.group_v.append(0)
                    sess.slot_group.append(g)
                    slot_w.append(w)
                    slot_at.append(at)
                    at += 16 * w
                sess.max_width = max(sess.max_width, w)
        sess.round_log.append(top)
        sess.log_max = max(sess.log_max, top)
        rounds += 1
    if c.extra == 1:
        sess.mask_root = extract32(opened, at)
        at += 32
    assert len(opened) == at, "opened values have the wrong length"
    # blob order: per round, heights descending, commit order within a height (a round's
    # matrices are contiguous in commit order; a bit mask lists its heights)
    start: uint256 = 0
    for r: uint256 in range(rounds, bound=4):
        end: uint256 = start
        present: uint256 = 0
        for _: uint256 in range(pd.MAX_MATS):
            if end == len(cm) or (cm[end] >> 8) & 255 != r:
                break
            present |= 1 << (cm[end] >> 32)
            end += 1
        for d: uint256 in range(64):
            if d > sess.round_log[r]:
                break
            h: uint256 = sess.round_log[r] - d
            if (present >> h) & 1 == 0:
                continue
            for m: uint256 in range(start, end, bound=pd.MAX_MATS):
                x: uint256 = cm[m]
                if x >> 32 == h:
                    sess.mats.append(x & ~255)
                    sess.mat_slot.append(cm_slot[m])
                    sess.mat_points.append(x & 255)
        start = end
    nm: uint256 = len(sess.mats)
    for i: uint256 in range(nm, bound=pd.MAX_MATS):
        if i + 1 == nm or sess.mats[i + 1] >> 32 != sess.mats[i] >> 32 or \
                (sess.mats[i + 1] >> 8) & 255 != (sess.mats[i] >> 8) & 255:
            sess.mats[i] = sess.mats[i] | 1
    return sess, slot_w, slot_at


@external
@pure
def deep_values(opened: Bytes[pd.MAX_OPENED], sess_in: pd.Session, slot_w: DynArray[uint256, pd.MAX_SLOTS],
                slot_at: DynArray[uint256, pd.MAX_SLOTS]) -> pd.Session:
    """Per opening slot (matrix, point), in commit order: its offset alpha^(columns before it)
    and, per group, V = sum offset * sum_c alpha^c v_c (prover/pcs.py _reduced_at).
    sum_c alpha^c v_c = sum_j X^j sum_c v_{c,j} alpha^c, the inner sums over base coefficients
    taken with alpha^c split in two words of 128-bit lanes (no reduction inside)."""
    sess: pd.Session = sess_in
    c02: uint256[pd.MAX_WIDTH] = empty(uint256[pd.MAX_WIDTH])
    c13: uint256[pd.MAX_WIDTH] = empty(uint256[pd.MAX_WIDTH])
    apw: uint256[pd.MAX_WIDTH] = empty(uint256[pd.MAX_WIDTH])
    ap: uint256 = 1
    for c: uint256 in range(sess.max_width + 1, bound=pd.MAX_WIDTH):
        apw[c] = ap
        c02[c], c13[c] = pd.alpha_lanes(ap)
        ap = bb.e_mul(ap, sess.alpha)
    offset: uint256 = 1
    for s: uint256 in range(len(slot_w), bound=pd.MAX_SLOTS):
        w: uint256 = slot_w[s]
        at: uint256 = slot_at[s]
        # (s02, s13) sums per coefficient j of the opened values, two columns per 32-byte read
        a0: uint256 = 0
        b0: uint256 = 0
        a1: uint256 = 0
        b1: uint256 = 0
        a2: uint256 = 0
        b2: uint256 = 0
        a3: uint256 = 0
        b3: uint256 = 0
        for c2: uint256 in range(w >> 1, bound=pd.MAX_WIDTH):
            c: uint256 = c2 << 1
            y: uint256 = extract32(opened, unsafe_add(at, c2 << 5), output_type=uint256)
            y = ((y & pd.MASK_BYTES) << 8) | ((y >> 8) & pd.MASK_BYTES)
            y = ((y & pd.MASK_HALVES) << 16) | ((y >> 16) & pd.MASK_HALVES)
            assert (unsafe_add(y & pd.EVEN_LANES, pd.LANE_BIAS) | unsafe_add((y >> 32) & pd.EVEN_LANES, pd.LANE_BIAS)) \
                & pd.LANE_CARRIES == 0, "non-canonical field element"
            p: uint256 = c02[c]
            q: uint256 = c13[c]
            a0 = unsafe_add(a0, unsafe_mul(y >> 224, p))
            b0 = unsafe_add(b0, unsafe_mul(y >> 224, q))
            a1 = unsafe_add(a1, unsafe_mul((y >> 192) & pd.M32, p))
            b1 = unsafe_add(b1, unsafe_mul((y >> 192) & pd.M32, q))
            a2 = unsafe_add(a2, unsafe_mul((y >> 160) & pd.M32, p))
            b2 = unsafe_add(b2, unsafe_mul((y >> 160) & pd.M32, q))
            a3 = unsafe_add(a3, unsafe_mul((y >> 128) & pd.M32, p))
            b3 = unsafe_add(b3, unsafe_mul((y >> 128) & pd.M32, q))
            p = c02[unsafe_add(c, 1)]
            q = c13[unsafe_add(c, 1)]
            a0 = unsafe_add(a0, unsafe_mul((y >> 96) & pd.M32, p))
            b0 = unsafe_add(b0, unsafe_mul((y >> 96) & pd.M32, q))
            a1 = unsafe_add(a1, unsafe_mul((y >> 64) & pd.M32, p))
            b1 = unsafe_add(b1, unsafe_mul((y >> 64) & pd.M32, q))
            a2 = unsafe_add(a2, unsafe_mul((y >> 32) & pd.M32, p))
            b2 = unsafe_add(b2, unsafe_mul((y >> 32) & pd.M32, q))
            a3 = unsafe_add(a3, unsafe_mul(y & pd.M32, p))
            b3 = unsafe_add(b3, unsafe_mul(y & pd.M32, q))
        if w & 1 == 1:
            c: uint256 = w - 1
            y: uint256 = pd.bswap32x8(extract32(opened, at + 16 * c, output_type=uint256))
            assert pd.canonical8(y >> 128), "non-canonical field element"
            p: uint256 = c02[c]
            q: uint256 = c13[c]
            a0 = unsafe_add(a0, unsafe_mul(y >> 224, p))
            b0 = unsafe_add(b0, unsafe_mul(y >> 224, q))
            a1 = unsafe_add(a1, unsafe_mul((y >> 192) & pd.M32, p))
            b1 = unsafe_add(b1, unsafe_mul((y >> 192) & pd.M32, q))
            a2 = unsafe_add(a2, unsafe_mul((y >> 160) & pd.M32, p))
            b2 = unsafe_add(b2, unsafe_mul((y >> 160) & pd.M32, q))
            a3 = unsafe_add(a3, unsafe_mul((y >> 128) & pd.M32, p))
            b3 = unsafe_add(b3, unsafe_mul((y >> 128) & pd.M32, q))
        value: uint256 = pd.from_lanes(a0, b0)
        value = bb.e_add(value, pd.times_x(pd.from_lanes(a1, b1), 1))
        value = bb.e_add(value, pd.times_x(pd.from_lanes(a2, b2), 2))
        value = bb.e_add(value, pd.times_x(pd.from_lanes(a3, b3), 3))
        sess.slot_offset.append(offset)
        g: uint256 = sess.slot_group[s]
        sess.group_v[g] = bb.e_add(sess.group_v[g], bb.e_mul(offset, value))
        offset = bb.e_mul(offset, apw[w])
    return sess
