# pragma version ~=0.4.3
# pragma optimize gas
"""
@title zkMIPS STARK verifier: the out-of-domain point (a helper of `stark.vy`'s `begin`)
@notice `check_tables`: for every table, C(zeta) == Z_H(zeta) * Q(zeta) (prover/stark.py
        _check_table), with C = sum_i alpha^i C_i evaluated by the constraint kernel
        (settlement/evm_constraint_kernel.py), which interprets the table's constraint program,
        generated from the same AIR expressions the Python prover and verifier use
        (settlement/evm_air.py). `layout` and `deep_values`: the opened values'
        matrices, opening slots and DEEP groups (prover/pcs.py). A contract of its own only
        because the EVM caps code size.
"""

from verifier import babybear as bb
from verifier import two_adic as ta
from verifier import proofdata as pd


# the assembled kernels (stateless): the programs' interpreter
# (settlement/evm_constraint_kernel.py) and the DEEP sums (settlement/evm_row_kernel.py)
CONSTRAINT_KERNEL: public(immutable(address))
ROW_KERNEL: public(immutable(address))
# the row kernel's input for the opened values: abi_encode(coef, recs, slot_recs, groups, no walk,
# no FRI section)
DEEP_HEAD: constant(uint256) = 192 + 32 * (7 + 4 * pd.KERNEL_MAX_WIDTH + 6 * pd.KERNEL_MAX_SLOTS)


@deploy
def __init__(constraint_kernel: address, row_kernel: address):
    CONSTRAINT_KERNEL = constraint_kernel
    ROW_KERNEL = row_kernel


@external
@view
def check_tables(c: pd.Ctx, programs: DynArray[address, pd.MAX_TABLES], circuit: Bytes[pd.MAX_CIRCUIT],
                 head: Bytes[pd.MAX_HEAD], pub_off: DynArray[uint256, pd.MAX_TABLES], sums_off: uint256,
                 heights: DynArray[uint256, pd.MAX_TABLES], opened: Bytes[pd.MAX_OPENED]) -> bool:
    """C(zeta) == Z_H(zeta) * Q(zeta) for every table (prover/stark.py _check_table), C the
    constraints folded by alpha, evaluated by the constraint kernel from the table's program."""
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
    # per table: Z_H(zeta), the selectors, where its opened values and publics lie (the
    # kernel's record: evm_constraint_kernel.table_record)
    recs: DynArray[uint256, 12 * pd.MAX_TABLES] = []
    zns: DynArray[uint256, pd.MAX_TABLES] = []
    for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
        tb: pd.Tab = pd.table(circuit, t)
        lh: uint256 = heights[t]
        n: uint256 = 1 << lh
        zn: uint256 = bb.e_pow(c.zeta, n)
        zh: uint256 = bb.e_sub(zn, one)
        assert zh != 0, "out-of-domain point lies in the trace domain"
        w_inv: uint256 = ta.two_adic_generator_inv(lh)
        n_inv: uint256 = bb.inv(n % bb.P)
        zeta_minus_winv: uint256 = bb.e_sub(c.zeta, w_inv)
        recs.append(convert(programs[t], uint256))
        recs.append(pre_at)
        recs.append(tb.pre_w)
        recs.append(main_at)
        recs.append(tb.main_w)
        recs.append(perm_at)
        recs.append(tb.perm_w)
        recs.append(pub_off[t])
        recs.append(sum_at)
        recs.append(bb.e_mul_base(bb.e_mul(zh, bb.e_inv(bb.e_sub(c.zeta, one))), n_inv))
        recs.append(bb.e_mul_base(bb.e_mul(zh, bb.e_inv(zeta_minus_winv)), bb.mul(w_inv, n_inv)))
        recs.append(zeta_minus_winv)
        zns.append(zn)
        if tb.pre_w > 0:
            pre_at += 32 * tb.pre_w
        main_at += 32 * tb.main_w
        perm_at += 32 * tb.perm_w
        sum_at += 16 * tb.nbus
    ok: bool = False
    folded: Bytes[32 * pd.MAX_TABLES] = b""
    ok, folded = raw_call(CONSTRAINT_KERNEL, abi_encode(c.z, c.beta, c.alpha, recs, opened, head),
                          max_outsize=32 * pd.MAX_TABLES, is_static_call=True, revert_on_failure=False)
    assert ok, "non-canonical field element"
    assert len(folded) == 32 * c.nt, "constraint kernel: wrong output"
    for t: uint256 in range(c.nt, bound=pd.MAX_TABLES):
        tb: pd.Tab = pd.table(circuit, t)
        lh: uint256 = heights[t]
        n: uint256 = 1 << lh
        zn: uint256 = zns[t]
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
        wk: uint256 = ta.two_adic_generator(lh + log_k)
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
        assert extract32(folded, 32 * t, output_type=uint256) == bb.e_mul(bb.e_sub(zn, one), q), \
            "constraints do not hold at zeta"
        quot_at += 64 * k
    return True


# ----------------------------------------------------------------------------- DEEP bookkeeping
@external
@view
def layout(c: pd.Ctx, circuit: Bytes[pd.MAX_CIRCUIT], heights: DynArray[uint256, pd.MAX_TABLES], pre_root: bytes32,
            main_root: bytes32, perm_root: bytes32, quotient_root: bytes32, opened: Bytes[pd.MAX_OPENED],
            sess_in: pd.Session) -> pd.Session:
    """The committed matrices in commit order (prover/stark.py _verify's pcs_rounds), their
    opening slots and groups (one per LDE height and point), checked against the opened
    stream's layout; then the matrices in Merkle-blob order; then the DEEP values of the
    groups at alpha (`sess_in.alpha`). One call, not two: every external call copies the
    opened values and the session (about 120 KB) and the EVM charges memory quadratically."""
    sess: pd.Session = sess_in
    cm: DynArray[uint256, pd.MAX_MATS] = []      # log_h << 32 | width << 16 | round << 8 | points
    slot_w: DynArray[uint256, pd.MAX_SLOTS] = []
    slot_at: DynArray[uint256, pd.MAX_SLOTS] = []
    cm_slot: DynArray[uint256, pd.MAX_MATS] = []
    at: uint256 = 0
    rounds: uint256 = 0
    group_of: uint256[128] = empty(uint256[128])  # 2 * height + point -> 1 + its group (0: none yet)
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
            nxt: uint256 = bb.e_mul_base(c.zeta, ta.two_adic_generator(lh))
            w: uint256 = 0
            h: uint256 = lh + c.extra + c.lb
            count: uint256 = 1
            pts: uint256 = 2
            if r == 0:
                w = tb.pre_w
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
                    # a group is a (height, point) pair, and the point is zeta or zeta times the
                    # generator of the table's trace domain, which the height fixes: found by
                    # (height, p) in one lookup, not a search of the groups
                    key: uint256 = 2 * h + p
                    g: uint256 = group_of[key]
                    if g == 0:
                        z: uint256 = c.zeta
                        if p == 1:
                            z = nxt
                        sess.group_h.append(h)
                        sess.group_z.append(z)
                        sess.group_v.append(0)
                        g = len(sess.group_h)
                        group_of[key] = g
                    sess.slot_group.append(g - 1)
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

    # the DEEP values: per opening slot (matrix, point), in commit order, its offset
    # alpha^(columns before it) and, per group, V = sum offset * sum_c alpha^c v_c
    # (prover/pcs.py _reduced_at), summed by the row kernel: an opened extension value v_c is
    # four base values v_{c,j}, so sum_c alpha^c v_c = sum_{c,j} v_{c,j} (alpha^c X^j), a row
    # of 4 w base values
    assert sess.max_width <= pd.KERNEL_MAX_WIDTH, "the circuit's matrices exceed the row kernel's bounds"
    coef: DynArray[uint256, 4 * pd.KERNEL_MAX_WIDTH] = []
    apw: DynArray[uint256, pd.KERNEL_MAX_WIDTH + 1] = []
    ap: uint256 = 1
    for col: uint256 in range(sess.max_width + 1, bound=pd.KERNEL_MAX_WIDTH + 1):
        apw.append(ap)
        if col < sess.max_width:
            r: uint256 = ap
            coef.append(r)
            for _: uint256 in range(3):
                r = pd.times_x(r, 1)
                coef.append(r)
        ap = bb.e_mul(ap, sess.alpha)
    assert len(slot_w) <= pd.KERNEL_MAX_SLOTS, "the circuit's matrices exceed the row kernel's bounds"
    recs: DynArray[uint256, pd.KERNEL_MAX_SLOTS] = []
    slot_recs: DynArray[uint256, 5 * pd.KERNEL_MAX_SLOTS] = []
    offset: uint256 = 1
    for s: uint256 in range(len(slot_w), bound=pd.KERNEL_MAX_SLOTS):
        w: uint256 = slot_w[s]
        recs.append((slot_at[s] << 40) | (s << 24) | (1 << 16) | (4 * w))
        slot_recs.append(sess.slot_group[s])
        o: uint256 = offset
        slot_recs.append(o)
        for _: uint256 in range(3):
            o = pd.times_x(o, 1)
            slot_recs.append(o)
        sess.slot_offset.append(offset)
        offset = bb.e_mul(offset, apw[w])
    empty_list: DynArray[uint256, 1] = []
    head: Bytes[DEEP_HEAD] = abi_encode(coef, recs, slot_recs, len(sess.group_h), empty_list, empty_list)
    ok: bool = False
    sums: Bytes[32 * pd.MAX_GROUPS] = b""
    ok, sums = raw_call(ROW_KERNEL, concat(convert(64 + len(head), bytes32), convert(0, bytes32), head, opened),
                        max_outsize=32 * pd.MAX_GROUPS, is_static_call=True, revert_on_failure=False)
    assert ok, "non-canonical field element"
    assert len(sums) == 32 * len(sess.group_h), "row kernel: wrong output"
    for g: uint256 in range(len(sess.group_h), bound=pd.MAX_GROUPS):
        sess.group_v[g] = extract32(sums, 32 * g, output_type=uint256)
    return sess
