# pragma version ~=0.4.3
"""
@title FRI folding and evaluation for the verifier's queries (a Vyper module)
@notice prover/fri.py _fold_rows (one query's row), _eval_poly_at, the two-adic generators of
        prover/field.py and the LDE points of prover/pcs.py _query_points. Extension values
        are packed as in babybear.vy.

        Folding a row (row r of a layer of log-height L on coset * H_{2^L}, 2^k values in
        the layer's bit-reversed order) is k binary folds
            e' = (e0 + e1)/2 + beta/2 * (e0 - e1) / x,
        beta and the coset squared after each. Pair j of the row at the fold whose row holds
        2^m pairs sits at natural index bitrev_{L'-1}(r 2^m + j) of a layer of log-height L',
        so 1/x = base * Z[j] with base = 1/(coset * omega_L'^bitrev_{L'-1-m}(r)) (the same
        exponent bitrev_{L-k}(r) at every fold: base squares from one fold to the next) and
        Z[j] = omega_16^-bitrev_3(j), one constant table for every arity up to 16.
"""

from verifier import babybear as bb

P: constant(uint256) = 2013265921
GENERATOR: constant(uint256) = 31
GENERATOR_INV: constant(uint256) = 64944062
INV2: constant(uint256) = 1006632961
M32: constant(uint256) = 4294967295
M64: constant(uint256) = 18446744073709551615
ONES: constant(uint256) = 6277101735386680764176071790128604879584176795969512275969
PP: constant(uint256) = 12637475006503964139821922978715384411341131794164389220199534952449
W: constant(uint256) = 11
# two_adic_generator(k) (and its inverse) for k = 0..27, 32 bits each, eight per word
OM0: constant(uint256) = 10723742931546729567327393885657005266083485894535145441491541364903392575489
OM1: constant(uint256) = 54183592492246108233168292452967303794791704521420808578146106952958901313895
OM2: constant(uint256) = 34159525722180525036156933316275929154940969270326628268139591046656627388916
OM3: constant(uint256) = 34905099104870518503691512118827645334
OMI0: constant(uint256) = 50052363436583589761954339146490113239722424368816672593478457002518936289281
OMI1: constant(uint256) = 38048759699247101025744212785466124049780471303348487900678072329787518665329
OMI2: constant(uint256) = 26619887358890544921439963986508066733826341184712281473868237296799191722193
OMI3: constant(uint256) = 135784765809632186892104079854284240292
# Z[j] = two_adic_generator(4)^-bitrev_3(j), j = 0..7, 32 bits each
ZTAB: constant(uint256) = 48982709165571841404246694127392932882130389424603483673841885988014153269249

# omega_bitrev tables: window w (bits 4w..4w+3 of a position), entry n = the product of
# two_adic_generator(4w + b + 1) (WI: its inverse) over the bits b of n; 16 x 32 bits in two words
W0A: constant(uint256) = 48569495839842132964573290904671612219154851607142035224782774007817870245889
W0B: constant(uint256) = 15291932647948571885699961454028404505456555289768239869714865119585444873444
W1A: constant(uint256) = 40215640800443327043703587341661172754652112887726592514932060737578964353025
W1B: constant(uint256) = 35578018248985837247855192385124177409513971779977617191510676501027388481895
W2A: constant(uint256) = 5159524178032767236403283356624176495687939952875676933065501464511685591041
W2B: constant(uint256) = 2074232957835657878372619588277406080877541392904059288977474940097763952405
W3A: constant(uint256) = 1545543135355350502266812977169305894264030917454070201398394076783938895873
W3B: constant(uint256) = 3951237031964702154671720197815677181626385952360884456431095254354887782900
W4A: constant(uint256) = 53400745195466637722845333343777325029295242457922190826085284173478046466049
W4B: constant(uint256) = 37105808340125580900834157216045553991363907430054114937334021908549483915171
W5A: constant(uint256) = 49474359761093404757812139501368475814192475922608532788237996736323214376961
W5B: constant(uint256) = 6069572380488918345870747240666396110435137613894960405502652630818775988630
W6A: constant(uint256) = 7224642126703269013116069606080393147989592522705592419460404266614778757121
W6B: constant(uint256) = 0
WI0A: constant(uint256) = 42930108206654612739054531465304311427935360350454020716807146675302792429569
WI0B: constant(uint256) = 5294832706632526216360790754096134109748755255607691544085950686819326553434
WI1A: constant(uint256) = 22125712857135493315384409941423735805021608788905221791524704550053107204097
WI1B: constant(uint256) = 23679706725612515896746098242584544897596717861969661216846813032538491241073
WI2A: constant(uint256) = 23977988389520566689851951190571302306967341700078114922708961392724629520385
WI2B: constant(uint256) = 9507963370829247604932760730069139347126088602992429144525516729596222374261
WI3A: constant(uint256) = 44735618720321834388380764368960603132723960847913659180917034487914206068737
WI3B: constant(uint256) = 28271821426653492541402071661752968772615348530152432157624713264093027952849
WI4A: constant(uint256) = 17711610476606574650935238608378882965813732775368600888732361485714347524097
WI4B: constant(uint256) = 2491617380081673452286086731753776043432117787154087645666176274089950417428
WI5A: constant(uint256) = 21380883450246923546026751570535902648515675064773873073122636795646190813185
WI5B: constant(uint256) = 51789530104166476796574947424847811828128674598279900163982737290403184309668
WI6A: constant(uint256) = 53596546815323901683660479813917024096394210182946061944562214845574597836801
WI6B: constant(uint256) = 0


@internal
@pure
def two_adic_generator(log_n: uint256) -> uint256:
    """A generator of the subgroup of order 2^log_n (log_n <= 27), prover/field.py's."""
    assert log_n <= 27, "no such subgroup"
    word: uint256 = OM0
    if log_n >= 24:
        word = OM3
    elif log_n >= 16:
        word = OM2
    elif log_n >= 8:
        word = OM1
    return (word >> ((log_n & 7) << 5)) & M32


@internal
@pure
def two_adic_generator_inv(log_n: uint256) -> uint256:
    """The inverse of two_adic_generator(log_n)."""
    assert log_n <= 27, "no such subgroup"
    word: uint256 = OMI0
    if log_n >= 24:
        word = OMI3
    elif log_n >= 16:
        word = OMI2
    elif log_n >= 8:
        word = OMI1
    return (word >> ((log_n & 7) << 5)) & M32


@internal
@pure
def bit_reverse(x: uint256, bits: uint256) -> uint256:
    """bitrev_bits of the low `bits` bits of x (bits <= 32), prover/fri.py bit_reverse_array."""
    if bits == 0:
        return 0
    v: uint256 = x & M32
    v = ((v >> 1) & 1431655765) | ((v & 1431655765) << 1)
    v = ((v >> 2) & 858993459) | ((v & 858993459) << 2)
    v = ((v >> 4) & 252645135) | ((v & 252645135) << 4)
    v = ((v >> 8) & 16711935) | ((v & 16711935) << 8)
    v = (v >> 16) | ((v & 65535) << 16)
    return v >> (32 - bits)


@internal
@pure
def pow_bitrev(g: uint256, pos: uint256, bits: uint256) -> uint256:
    """g^bitrev_bits(pos) (low `bits` bits of pos), without reversing: square-and-multiply
    reading pos from bit 0 (the exponent's most significant bit) up."""
    r: uint256 = 1
    for i: uint256 in range(bits, bound=32):
        r = uint256_mulmod(r, r, P)
        if (pos >> i) & 1 != 0:
            r = uint256_mulmod(r, g, P)
    return r


@internal
@pure
def omega_bitrev(pos: uint256, log_h: uint256) -> uint256:
    """two_adic_generator(log_h)^bitrev_{log_h}(pos) (low log_h bits of pos), by 4-bit
    windows of pos: bit i of pos contributes two_adic_generator(i + 1)."""
    assert log_h <= 27, "no such subgroup"
    p: uint256 = pos & ((1 << log_h) - 1)
    r: uint256 = 1
    n: uint256 = p & 15
    if n != 0:
        r = ((W0B if n >= 8 else W0A) >> ((n & 7) << 5)) & M32
    n = (p >> 4) & 15
    if n != 0:
        r = uint256_mulmod(r, ((W1B if n >= 8 else W1A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 8) & 15
    if n != 0:
        r = uint256_mulmod(r, ((W2B if n >= 8 else W2A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 12) & 15
    if n != 0:
        r = uint256_mulmod(r, ((W3B if n >= 8 else W3A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 16) & 15
    if n != 0:
        r = uint256_mulmod(r, ((W4B if n >= 8 else W4A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 20) & 15
    if n != 0:
        r = uint256_mulmod(r, ((W5B if n >= 8 else W5A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 24) & 15
    if n != 0:
        r = uint256_mulmod(r, (W6A >> (n << 5)) & M32, P)
    return r


@internal
@pure
def omega_inv_bitrev(pos: uint256, log_h: uint256) -> uint256:
    """The inverse of omega_bitrev(pos, log_h)."""
    assert log_h <= 27, "no such subgroup"
    p: uint256 = pos & ((1 << log_h) - 1)
    r: uint256 = 1
    n: uint256 = p & 15
    if n != 0:
        r = ((WI0B if n >= 8 else WI0A) >> ((n & 7) << 5)) & M32
    n = (p >> 4) & 15
    if n != 0:
        r = uint256_mulmod(r, ((WI1B if n >= 8 else WI1A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 8) & 15
    if n != 0:
        r = uint256_mulmod(r, ((WI2B if n >= 8 else WI2A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 12) & 15
    if n != 0:
        r = uint256_mulmod(r, ((WI3B if n >= 8 else WI3A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 16) & 15
    if n != 0:
        r = uint256_mulmod(r, ((WI4B if n >= 8 else WI4A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 20) & 15
    if n != 0:
        r = uint256_mulmod(r, ((WI5B if n >= 8 else WI5A) >> ((n & 7) << 5)) & M32, P)
    n = (p >> 24) & 15
    if n != 0:
        r = uint256_mulmod(r, (WI6A >> (n << 5)) & M32, P)
    return r


@internal
@pure
def domain_point(coset: uint256, pos: uint256, log_h: uint256) -> uint256:
    """coset * omega_{2^log_h}^bitrev_{log_h}(pos): the point at bit-reversed position pos of
    the coset `coset * H` of size 2^log_h."""
    return uint256_mulmod(coset, self.omega_bitrev(pos, log_h), P)


@internal
@pure
def query_point(pos: uint256, log_h: uint256) -> uint256:
    """prover/pcs.py _query_points: GENERATOR * omega_{log_h}^bitrev(pos)."""
    return self.domain_point(GENERATOR, pos, log_h)


@internal
@pure
def fold_row(values: DynArray[uint256, 16], row_index: uint256, log_n: uint256, log_arity: uint256,
             beta: uint256, coset: uint256) -> uint256:
    """prover/fri.py _fold_rows for one query: fold the 2^log_arity packed values of row
    `row_index` of a layer of log-height `log_n` on `coset * H` (arity <= 16)."""
    return self.fold_row_inv(values, row_index, log_n, log_arity, beta, bb.inv(coset))


@internal
@pure
def fold_row_inv(values: DynArray[uint256, 16], row_index: uint256, log_n: uint256, log_arity: uint256,
                 beta: uint256, coset_inv: uint256) -> uint256:
    """fold_row with the coset's inverse given (saves an inversion when the caller tracks it:
    the inverse of coset^a is coset_inv^a)."""
    n: uint256 = len(values)
    assert log_arity <= 4 and n == 1 << log_arity and log_arity <= log_n, "fri: bad row"
    vals: DynArray[uint256, 16] = values
    # 1/x of the row's first pair, times 1/2
    # omega_L^bitrev_{L-k}(r) = omega_bitrev(r << k, L): the same bits, shifted
    base: uint256 = uint256_mulmod(coset_inv, self.omega_inv_bitrev(row_index << log_arity, log_n), P)
    b: uint256 = beta
    for t: uint256 in range(log_arity, bound=4):
        n = n >> 1
        half: uint256 = uint256_mulmod(base, INV2, P)
        # the rotations X b, X^2 b, X^3 b of beta (X^4 = W)
        w1: uint256 = unsafe_mul(W, (b >> 64) & M64) % P
        w2: uint256 = unsafe_mul(W, (b >> 128) & M64) % P
        w3: uint256 = unsafe_mul(W, b >> 192) % P
        b1: uint256 = (b << 64) | w3
        b2: uint256 = (b << 128) | (w3 << 64) | w2
        b3: uint256 = (b << 192) | (w3 << 128) | (w2 << 64) | w1
        for j: uint256 in range(n, bound=8):
            e0: uint256 = vals[j << 1]
            e1: uint256 = vals[(j << 1) | 1]
            # (e0 - e1) * x^-1 / 2, lanes reduced
            d: uint256 = unsafe_mul(unsafe_sub(unsafe_add(e0, PP), e1),
                                    uint256_mulmod(half, (ZTAB >> (j << 5)) & M32, P))
            d = ((d & M64) % P) | (((d >> 64) & M64) % P << 64) | (((d >> 128) & M64) % P << 128) | \
                ((d >> 192) % P << 192)
            # (e0 + e1) / 2, lanes below 1.5 P: odd lanes get + P, then one shift halves all
            s: uint256 = unsafe_add(e0, e1)
            s = unsafe_add(s, unsafe_mul(s & ONES, P)) >> 1
            # + beta * d, lanes below 1.5 P + 4 P^2 < 2^64
            s = unsafe_add(unsafe_add(unsafe_add(s, unsafe_mul(d & M64, b)), unsafe_mul((d >> 64) & M64, b1)),
                           unsafe_add(unsafe_mul((d >> 128) & M64, b2), unsafe_mul(d >> 192, b3)))
            vals[j] = ((s & M64) % P) | (((s >> 64) & M64) % P << 64) | (((s >> 128) & M64) % P << 128) | \
                ((s >> 192) % P << 192)
        if t + 1 < log_arity:
            b = bb.e_square(b)
            base = uint256_mulmod(base, base, P)
    return vals[0]


@internal
@pure
def eval_poly(coeffs: DynArray[uint256, 64], x: uint256) -> uint256:
    """prover/fri.py _eval_poly_at: Horner with base-field multiplications (x canonical)."""
    acc: uint256 = 0
    n: uint256 = len(coeffs)
    for j: uint256 in range(n, bound=64):
        t: uint256 = unsafe_add(unsafe_mul(acc, x), coeffs[unsafe_sub(unsafe_sub(n, 1), j)])
        acc = ((t & M64) % P) | (((t >> 64) & M64) % P << 64) | (((t >> 128) & M64) % P << 128) | \
            ((t >> 192) % P << 192)
    return acc
