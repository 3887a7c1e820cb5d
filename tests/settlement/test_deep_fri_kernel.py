"""The row kernel's DEEP-quotient and FRI-fold section (settlement/evm_deep_fri.py) against its
Python specification, which computes with the Python verifier's own arithmetic (prover.field,
prover.fri). Random accepting instances are built from the specification, then changed one
input at a time: the kernel and the specification must agree on every status. The section
inside the verifier, on real proofs, is exercised by tests/settlement/test_onchain_verifier.py."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest

from prover import field
from prover.field import GENERATOR
from settlement import chain
from settlement import evm_deep_fri as D
from settlement import evm_field_asm as F
from settlement import evm_row_kernel as K
from settlement.evm_asm import Push, assemble

P = F.P


def _ext(rng: random.Random) -> int:
    return F.pack([rng.randrange(P) for _ in range(4)])


def _le(v) -> bytes:
    return b"".join(int(c).to_bytes(4, "little") for c in v)


class Instance:
    """A query's DEEP and FRI data: groups with their sums (fed to the kernel through one
    width-1 matrix whose value is 1, one slot per group with the sum as its offset), an
    optional mask row, FRI layers' rows at random offsets, a final polynomial."""

    def __init__(self, rng: random.Random, arities: list[int], *, mask: bool, log_final: int = 2):
        self.log_max = sum(arities) + log_final
        self.index = rng.randrange(1 << self.log_max)
        heights, h = [self.log_max], self.log_max
        for k in arities[:-1]:
            h -= k
            heights.append(h)
        self.groups = []
        for _ in range(rng.randint(1, 8)):
            self.groups.append((rng.choice(heights), _ext(rng), _ext(rng)))
        self.sums = [_ext(rng) for _ in self.groups]
        rows = bytearray(rng.randbytes(rng.randint(0, 40)))
        self.one_at = len(rows)
        rows += (1).to_bytes(4, "little")
        self.mask_at = None
        if mask:
            self.mask_at = len(rows)
            rows += _le(F.unpack(_ext(rng))) + rng.randbytes(16)
        self.layer_at, shift = [], GENERATOR
        self.layers = []
        for k in arities:
            rows += rng.randbytes(rng.randint(0, 24))
            self.layer_at.append(len(rows))
            rows += b"".join(_le(F.unpack(_ext(rng))) for _ in range(1 << k))
            self.layers.append(D.layer_words(k, self.layer_at[-1], pow(shift, P - 2, P), _ext(rng)))
            shift = pow(shift, 1 << k, P)
        self.final_shift = shift
        self.final = [_ext(rng) for _ in range(1 << log_final)]
        self.rows = rows + rng.randbytes(rng.randint(0, 40))
        # make it accept: every layer's row holds the folded value, the final polynomial matches
        for _ in range(len(arities) + 1):
            st, layer, value = self.trace()
            if st == D.LAYER_MISMATCH:
                k = arities[layer]
                pos = (self.index >> sum(arities[:layer])) & ((1 << k) - 1)
                at = self.layer_at[layer] + 16 * pos
                self.rows[at:at + 16] = _le(value)
            elif st == D.FINAL_MISMATCH:
                self.final[0] = F.pack(field.ext_add(np.array(F.unpack(self.final[0]), np.uint32), value))
        assert self.trace()[0] == D.OK

    def words(self) -> list[int]:
        return D.fri_words(self.log_max, self.mask_at, self.final_shift, self.final, self.groups, self.layers)

    def trace(self):
        return D.trace(self.words(), len(self.groups), self.sums, bytes(self.rows), self.index)

    def calldata(self) -> bytes:
        slots = []
        for g, s in enumerate(self.sums):
            slots += K.slot_record(g, s)
        head = K.input_head([1], [K.mat_record(self.one_at, 0, len(self.sums), 1)], slots, len(self.groups),
                            (), self.words())
        return K.calldata(head, bytes(self.rows), 0, self.index)


def _status(embedded_chain, row_kernel: str, inst: Instance) -> int:
    out = embedded_chain.eth.call({"to": row_kernel, "data": inst.calldata()})
    words = [int.from_bytes(out[i:i + 32], "big") for i in range(0, len(out), 32)]
    assert [w for w in words[:len(inst.sums)]] == inst.sums, "the sums the section divides"
    return words[-1]


ARITIES = [[1], [3], [2, 1], [1, 1, 1, 1], [3, 3, 2], [4, 1], [2, 3, 1, 2]]


@pytest.mark.parametrize("arities", ARITIES, ids=str)
@pytest.mark.parametrize("mask", [False, True])
def test_accepting_instances_are_accepted(embedded_chain, row_kernel, arities, mask):
    rng = random.Random(hash((tuple(arities), mask)) & 0xFFFF)
    for _ in range(2):
        inst = Instance(rng, arities, mask=mask)
        assert _status(embedded_chain, row_kernel, inst) == D.OK


def _changes(inst: Instance, rng: random.Random):
    """(what, change) pairs, each changing one input of an accepting instance."""
    def row_byte(at):
        def f(i):
            i.rows[at] ^= 1 + rng.randrange(7)
        return f

    def word(path, j):
        def f(i):
            seq = getattr(i, path)
            if path == "groups":
                g, field_ = divmod(j, 3)
                rec = list(seq[g])
                rec[field_] = _ext(rng) if field_ else rec[0]
                seq[g] = tuple(rec)
            else:
                seq[j] = _ext(rng)
        return f

    for layer, at in enumerate(inst.layer_at):
        yield f"layer {layer} row", row_byte(at + rng.randrange(16 << inst.layers[layer][0]))
    if inst.mask_at is not None:
        yield "mask row", row_byte(inst.mask_at + rng.randrange(16))
    g = rng.randrange(len(inst.groups))
    yield "a group's sum", word("sums", g)
    yield "a group's point", word("groups", 3 * g + 1)
    yield "a group's value", word("groups", 3 * g + 2)
    yield "a final coefficient", word("final", rng.randrange(len(inst.final)))
    for layer in range(len(inst.layers)):
        def beta(i, layer=layer):
            k, at, cinv = i.layers[layer][:3]
            i.layers[layer] = D.layer_words(k, at, cinv, _ext(rng))
        yield f"layer {layer} beta", beta

        def shift(i, layer=layer):
            i.layers[layer][2] = rng.randrange(1, P)
        yield f"layer {layer} shift", shift
    yield "the final shift", lambda i: setattr(i, "final_shift", rng.randrange(1, P))
    yield "the index", lambda i: setattr(i, "index", i.index ^ (1 << rng.randrange(i.log_max)))


@pytest.mark.parametrize("arities", ARITIES, ids=str)
def test_every_changed_input_is_caught_as_the_specification_says(embedded_chain, row_kernel, arities):
    rng = random.Random(len(arities) * 7 + sum(arities))
    base = Instance(rng, arities, mask=True)
    for what, change in _changes(base, rng):
        inst = copy.deepcopy(base)
        change(inst)
        want = D.status(inst.words(), len(inst.groups), inst.sums, bytes(inst.rows), inst.index)
        assert want != D.OK, what
        assert _status(embedded_chain, row_kernel, inst) == want, what


def test_a_point_on_the_query_domain_is_refused(embedded_chain, row_kernel):
    rng = random.Random(5)
    inst = Instance(rng, [2, 1], mask=False)
    h = inst.groups[0][0]
    x = D._point(GENERATOR, inst.index >> (inst.log_max - h), h)
    inst.groups[0] = (h, x, inst.groups[0][2])
    assert D.status(inst.words(), len(inst.groups), inst.sums, bytes(inst.rows), inst.index) == D.ZERO_DENOMINATOR
    assert _status(embedded_chain, row_kernel, inst) == D.ZERO_DENOMINATOR


@pytest.mark.parametrize("where", ["mask", "layer"])
def test_a_non_canonical_row_value_reverts(embedded_chain, row_kernel, where):
    rng = random.Random(6)
    inst = Instance(rng, [2, 2], mask=True)
    at = inst.mask_at if where == "mask" else inst.layer_at[1] + 16 + 4
    inst.rows[at:at + 4] = (P + 3).to_bytes(4, "little")
    with pytest.raises(ValueError):
        D.status(inst.words(), len(inst.groups), inst.sums, bytes(inst.rows), inst.index)
    with pytest.raises(chain._revert_errors()):
        embedded_chain.eth.call({"to": row_kernel, "data": inst.calldata()})


def test_the_tables_are_the_fields_generators():
    """The section's constant tables: two_adic_generator(i + 1), their inverses, and the fold's
    INV2 * omega_16^-bitrev_3(j) (checked against prover.fri's fold on a random row)."""
    raw = D._tables()
    words = [int.from_bytes(raw[i:i + 32], "big") for i in range(0, len(raw), 32)]
    om, omi = words[:32], words[32:64]
    for i in range(field.TWO_ADICITY):
        assert om[i] == field.two_adic_generator(i + 1) and om[i] * omi[i] % P == 1


def test_the_sections_memory_leaves_the_kernels_alone():
    """The section's variables and scratch lie where the Merkle walk kept its digests (free once
    it is done), below the row kernel's own variables (the query's offset and index, which it
    reads); its arrays start where the walk's scratch did; the output stays below both."""
    kernel_vars = K.RB
    words = [*(getattr(D, n) for n in ("FP", "GP", "NG", "LM", "RSET", "CUR", "LH", "INDEX", "LP", "LI",
                                        "NL", "AR", "K", "BASE", "ROUT", "ST", "AT", "T"))]
    words += [D.INV_SCRATCH + 32 * i for i in range(8)]
    assert len(set(words)) == len(words)
    assert all(K.INJ <= w and w + 32 <= kernel_vars for w in words)
    assert min(K.RB, K.IDX) >= kernel_vars
    regions = [(D.U, 64), (D.RED, 64), (D.DEN, 64), (D.PRE, 64), (D.VALS, 16), (D.OMT, 32), (D.OMIT, 32),
               (D.ZH, 8), (D.TK, 32), (D.V, 64)]
    for (a, n), (b, _) in zip(regions, regions[1:]):
        assert a + 32 * n <= b
    assert regions[0][0] >= K.SCR and len(D._tables()) == 32 * (32 + 32 + 8 + 32)
    assert D.OMIT == D.OMT + 32 * 32 and D.ZH == D.OMIT + 32 * 32 and D.TK == D.ZH + 32 * 8  # one CODECOPY


def _run_macro(w3, body: list, args: list[int]) -> int:
    """A macro assembled alone: its arguments pushed (the first on top), its result returned."""
    code: list = []
    for i in range(len(args) - 1, -1, -1):
        code += [Push(32 * i), "CALLDATALOAD"]
    code += [*body, "PUSH0", "MSTORE", Push(32), "PUSH0", "RETURN"]
    addr = chain.deploy_code(w3, assemble(code))
    return int.from_bytes(w3.eth.call({"to": addr, "data": b"".join(a.to_bytes(32, "big") for a in args)}), "big")


def test_the_field_macros_compute_prover_field(embedded_chain):
    """The extension product (the 512-bit integer product, where every lane sum must stay
    below 2^64: all-(p - 1) operands are its worst case), the inverse, sum and difference
    against prover.field, on random and extreme coefficients."""
    rng = random.Random(8)
    edges = [0, 1, P - 1]
    cases = [([P - 1] * 4, [P - 1] * 4), ([0] * 4, [P - 1] * 4), ([1, 0, 0, 0], [P - 1, 0, P - 1, 0])]
    cases += [([rng.choice(edges + [rng.randrange(P)]) for _ in range(4)],
               [rng.choice(edges + [rng.randrange(P)]) for _ in range(4)]) for _ in range(12)]
    for a, b in cases:
        va, vb = np.array(a, np.uint32), np.array(b, np.uint32)
        for macro, want in ((F.ext_product(), field.ext_mul(va, vb)), (F.ext_add(), field.ext_add(va, vb)),
                            (F.ext_sub(), field.ext_sub(va, vb))):
            assert F.unpack(_run_macro(embedded_chain, macro, [F.pack(b), F.pack(a)])) == [int(x) for x in want]
        if any(a):
            got = F.unpack(_run_macro(embedded_chain, F.ext_inv(0x1000), [F.pack(a)]))
            assert got == [int(x) for x in field.ext_inv(va)]
    assert _run_macro(embedded_chain, F.ext_inv(0x1000), [0]) == 0, "zero has no inverse: the callers check"
