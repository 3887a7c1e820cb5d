"""FRI PCS: openings of several rounds, heights and cosets; hiding mode; every tampered part."""

import copy

import numpy as np
import pytest

from prover import field, pcs
from prover.errors import VerificationError
from prover.field import GENERATOR, P
from prover.merkle import MerkleProof, MerkleTree
from prover.ntt import coset_dft, coset_idft
from prover.pcs import Domain, FriPcs
from prover.security import DEFAULT, INSECURE_FAST_TEST_PARAMS
from prover.transcript import Transcript

RNG = np.random.default_rng(99)
LABEL = b"pcs-test"


def rand(shape):
    return RNG.integers(0, P, size=shape, dtype=np.uint64).astype(np.uint32)


def eval_direct(evals, domain, z):
    """Interpolate on the domain and evaluate at z by Horner (independent of the barycentric path)."""
    coeffs = coset_idft(evals, domain.shift)
    acc = np.zeros((evals.shape[1], 4), dtype=np.uint32)
    for row in coeffs[::-1]:
        acc = field.ext_add(field.ext_mul(acc, np.broadcast_to(z, acc.shape)), field.ext_from_base(row))
    return acc


class Instance:
    """Two commitment rounds: a trace round with two heights and a round of coset chunks."""

    def __init__(self, params, hiding=False, seed=5):
        self.params = params
        self.hiding = hiding
        self.pcs = FriPcs(params, hiding=hiding, rng=np.random.default_rng(seed))
        self.domains = [[Domain(7), Domain(5)], [Domain(5, GENERATOR), Domain(5, GENERATOR * 7 % P)]]
        self.mats = [[rand((128, 5)), rand((32, 3))], [rand((32, 4)), rand((32, 4))]]
        self.roots, self.data = [], []
        for doms, mats in zip(self.domains, self.mats):
            root, data = self.pcs.commit(list(zip(doms, mats)))
            self.roots.append(root)
            self.data.append(data)
        z, zg = rand(4), rand(4)
        self.points = [[[z, zg], [z]], [[z], [z]]]

    def open(self, **kwargs):
        rounds = [(d, pts) for d, pts in zip(self.data, self.points)]
        self.opened, self.proof = self.pcs.open(rounds, Transcript(LABEL), **kwargs)
        return self.opened, self.proof

    def claims(self, opened=None):
        opened = self.opened if opened is None else opened
        return [(root, [(dom, list(zip(pts, vals))) for dom, pts, vals in zip(doms, pts_r, opened_r)])
                for root, doms, pts_r, opened_r in zip(self.roots, self.domains, self.points, opened)]

    def verify(self, proof=None, opened=None, verifier=None, label=LABEL):
        verifier = verifier or self.pcs
        verifier.verify(self.claims(opened), self.proof if proof is None else proof, Transcript(label))


@pytest.fixture(scope="module")
def plain():
    inst = Instance(INSECURE_FAST_TEST_PARAMS)
    inst.open()
    inst.verify()
    return inst


@pytest.fixture(scope="module")
def hiding():
    inst = Instance(INSECURE_FAST_TEST_PARAMS, hiding=True)
    inst.open()
    inst.verify()
    return inst


def test_opened_values_are_the_polynomial_values(plain):
    for doms, mats, pts_r, opened_r in zip(plain.domains, plain.mats, plain.points, plain.opened):
        for dom, mat, pts, vals in zip(doms, mats, pts_r, opened_r):
            for z, v in zip(pts, vals):
                assert np.array_equal(v, eval_direct(mat, dom, z))


def test_evaluate_at_domain_point_gives_row():
    dom = Domain(4, GENERATOR)
    mat = rand((16, 3))
    x = field.ext_from_base(np.uint32(dom.points()[5]))
    # A base point off the domain still works; a point on it is the row itself (by interpolation).
    off = field.ext_from_base(np.uint32(12345))
    assert np.array_equal(pcs.evaluate_at(mat, dom, off), eval_direct(mat, dom, off))
    assert np.array_equal(eval_direct(mat, dom, x), field.ext_from_base(mat[5]))


def test_lde_extends_the_interpolant(plain):
    data = plain.data[0]
    lde = data.lde(1)
    assert lde.shape == (32 << plain.params.log_blowup, 3)
    coeffs = coset_idft(lde, GENERATOR)
    assert not coeffs[32:].any()  # degree below the domain size
    assert np.array_equal(coeffs[:32], coset_idft(plain.mats[0][1], 1))


def test_default_params_small_instance():
    inst = Instance(DEFAULT)
    inst.open()
    inst.verify()
    assert len(inst.proof.query_openings) == DEFAULT.num_queries


def test_hiding_proof_has_salts_and_mask(hiding):
    q = hiding.proof.query_openings[0]
    assert q.mask is not None and hiding.proof.mask_root is not None
    assert all(len(s) == 16 for s in q.rounds[0].proof.salts)
    assert hiding.proof.fri_proof.query_proofs[0].layers[0].proof.salts


def test_hiding_commitments_are_randomised():
    a, b = Instance(INSECURE_FAST_TEST_PARAMS, hiding=True, seed=1), Instance(INSECURE_FAST_TEST_PARAMS, hiding=True, seed=2)
    b.mats = a.mats
    root_a, _ = a.pcs.commit(list(zip(a.domains[0], a.mats[0])))
    root_b, _ = b.pcs.commit(list(zip(a.domains[0], a.mats[0])))
    root_plain, _ = FriPcs(INSECURE_FAST_TEST_PARAMS).commit(list(zip(a.domains[0], a.mats[0])))
    assert len({root_a, root_b, root_plain}) == 3


def test_mode_mismatch_rejected(plain, hiding):
    with pytest.raises(VerificationError):
        hiding.verify(verifier=FriPcs(INSECURE_FAST_TEST_PARAMS))
    with pytest.raises(VerificationError):
        plain.verify(verifier=FriPcs(INSECURE_FAST_TEST_PARAMS, hiding=True))


def test_replay_against_another_statement_rejected(plain):
    with pytest.raises(VerificationError):
        plain.verify(label=b"another statement")


def test_wrong_claimed_value_rejected_even_with_a_consistent_transcript(monkeypatch):
    """The prover builds the whole proof around a wrong value (bypassing its sanity check):
    the DEEP quotient then has a pole, and FRI must catch it."""
    inst = Instance(INSECURE_FAST_TEST_PARAMS)
    honest_eval = pcs.evaluate_at

    def lying_eval(evals, domain, z, *args):
        out = honest_eval(evals, domain, z, *args)
        if evals.shape[1] == 3:
            out = out.copy()
            out[0, 0] = (int(out[0, 0]) + 1) % P
        return out

    monkeypatch.setattr(pcs, "evaluate_at", lying_eval)
    with pytest.raises(ValueError, match="not of low degree"):
        inst.open()
    inst.open(check_degree=False)
    with pytest.raises(VerificationError):
        inst.verify()


def test_committed_high_degree_data_rejected():
    """A prover that commits a codeword that is not a low-degree extension is caught."""
    inst = Instance(INSECURE_FAST_TEST_PARAMS)
    data = inst.data[0]
    mats = [m.copy() for m in data.tree.matrices]
    mats[1] = rand(mats[1].shape)
    tree = MerkleTree(mats)
    data.tree, data.root = tree, tree.root
    inst.roots[0] = tree.root
    inst.open(check_degree=False)
    with pytest.raises(VerificationError):
        inst.verify()


def _flip(arr, pos=(0, 0)):
    arr = np.array(arr, dtype=np.uint32, copy=True)
    arr[pos] = (int(arr[pos]) + 1) % P
    return arr


def _flip_digest(d):
    return bytes([d[0] ^ 1]) + d[1:]


def tamper_opened_value(proof, opened):
    opened[0][1][0] = _flip(opened[0][1][0], (2, 3))


def tamper_input_row(proof, opened):
    rows = proof.query_openings[0].rounds[1].rows
    rows[0] = _flip(rows[0], (1,))


def tamper_input_sibling(proof, opened):
    b = proof.query_openings[1].rounds[0]
    b.proof = MerkleProof([_flip_digest(b.proof.siblings[0])] + b.proof.siblings[1:], b.proof.salts)


def tamper_query_index(proof, opened):
    """Answer a query with the opening of another index."""
    qs = proof.query_openings
    j = next(j for j in range(1, len(qs)) if qs[j].rounds[0].proof.siblings != qs[0].rounds[0].proof.siblings)
    qs[0].rounds = qs[j].rounds


def tamper_batch_nonce(proof, opened):
    proof.batch_pow_nonce += 1


def tamper_fri_layer_root(proof, opened):
    proof.fri_proof.commit_roots[0] = _flip_digest(proof.fri_proof.commit_roots[0])


def tamper_fri_layer_value(proof, opened):
    layer = proof.fri_proof.query_proofs[0].layers[-1]
    layer.values = _flip(layer.values)


def tamper_fri_sibling(proof, opened):
    layer = proof.fri_proof.query_proofs[0].layers[0]
    layer.proof = MerkleProof([_flip_digest(s) for s in layer.proof.siblings], layer.proof.salts)


def tamper_final_poly(proof, opened):
    proof.fri_proof.final_poly = _flip(proof.fri_proof.final_poly, (0, 2))


def tamper_query_nonce(proof, opened):
    proof.fri_proof.query_pow_nonce ^= 1 << 40


def tamper_missing_round(proof, opened):
    proof.query_openings[0].rounds.pop()


def tamper_garbage(proof, opened):
    proof.query_openings[0].rounds[0].rows = None


def tamper_wrong_width_value(proof, opened):
    opened[1][0][0] = opened[1][0][0][:3]


TAMPERS = [tamper_opened_value, tamper_input_row, tamper_input_sibling, tamper_query_index,
           tamper_batch_nonce, tamper_fri_layer_root, tamper_fri_layer_value, tamper_fri_sibling,
           tamper_final_poly, tamper_query_nonce, tamper_missing_round, tamper_garbage,
           tamper_wrong_width_value]


@pytest.mark.parametrize("tamper", TAMPERS)
def test_tampered_opening_rejected(plain, tamper):
    proof, opened = copy.deepcopy(plain.proof), copy.deepcopy(plain.opened)
    tamper(proof, opened)
    with pytest.raises(VerificationError):
        plain.verify(proof, opened)


def tamper_mask_row(proof, opened):
    m = proof.query_openings[0].mask
    m.rows = [_flip(m.rows[0], (2,))]


def tamper_mask_root(proof, opened):
    proof.mask_root = _flip_digest(proof.mask_root)


def tamper_salt(proof, opened):
    b = proof.query_openings[0].rounds[0]
    b.proof = MerkleProof(b.proof.siblings, [_flip_digest(b.proof.salts[0])] + b.proof.salts[1:])


def tamper_missing_mask(proof, opened):
    proof.query_openings[0].mask = None


@pytest.mark.parametrize("tamper", TAMPERS + [tamper_mask_row, tamper_mask_root, tamper_salt, tamper_missing_mask])
def test_tampered_hiding_opening_rejected(hiding, tamper):
    proof, opened = copy.deepcopy(hiding.proof), copy.deepcopy(hiding.opened)
    tamper(proof, opened)
    with pytest.raises(VerificationError):
        hiding.verify(proof, opened)


def test_open_rejects_bad_requests(plain):
    with pytest.raises(ValueError):
        plain.pcs.open([(plain.data[0], [[rand(4)]])], Transcript(LABEL))
    with pytest.raises(ValueError):
        plain.pcs.commit([(Domain(3), rand((4, 2)))])
    with pytest.raises(ValueError, match="at least one opening point"):
        plain.pcs.open([(plain.data[0], [[rand(4)], []])], Transcript(LABEL))


def test_evaluations_on_other_domains(plain):
    data, mat = plain.data[0], plain.mats[0][1]   # 32 rows on H
    coeffs = coset_idft(mat, 1)
    for target in [Domain(6, GENERATOR), Domain(5, GENERATOR), Domain(7, GENERATOR), Domain(6, 7)]:
        padded = np.zeros((target.size, mat.shape[1]), dtype=np.uint32)
        padded[:32] = coeffs
        want = coset_dft(padded, target.shift)
        assert np.array_equal(data.evaluations_on(1, target), want)
        rev = pcs.fri.bit_reverse_indices(target.log_n)
        assert np.array_equal(data.evaluations_on(1, target, bit_reversed=True), want[rev])
    with pytest.raises(ValueError):
        data.evaluations_on(1, Domain(4, GENERATOR * 3 % P))


def test_inverse_kernel_matches_field_inverse():
    xs = rand(3000)
    for _ in range(3):
        z = rand(4)
        inv = pcs._inv_x_minus_z(xs, *(np.uint64(c) for c in z))
        d = field.ext_sub(field.ext_from_base(xs), z[None, :])
        assert np.array_equal(field.ext_mul(inv, d), field.ext_from_base(np.ones(3000, dtype=np.uint32)))


def test_hiding_with_os_randomness():
    """Without a test rng, salts and the mask come from the OS; proofs still verify."""
    inst = Instance(INSECURE_FAST_TEST_PARAMS, hiding=True)
    inst.pcs = FriPcs(INSECURE_FAST_TEST_PARAMS, hiding=True)
    inst.roots, inst.data = [], []
    for doms, mats in zip(inst.domains, inst.mats):
        root, data = inst.pcs.commit(list(zip(doms, mats)))
        inst.roots.append(root)
        inst.data.append(data)
    inst.open()
    inst.verify()


def test_inverse_cache_rotation_for_next_row_points():
    """1 / (x - z * omega) derived from 1 / (x - z) by rotation equals the direct computation."""
    dom = Domain(5, GENERATOR * 3 % P)
    z = rand(4)
    zg = field.ext_mul_base(z, field.two_adic_generator(5))
    cache = pcs._InverseCache()
    cache.get(dom, z)
    rotated = cache.get(dom, zg)
    assert np.array_equal(rotated, pcs._inv_x_minus_z(dom.points(), *(np.uint64(c) for c in zg)))
    mat = rand((32, 3))
    assert np.array_equal(pcs.evaluate_at(mat, dom, zg, cache), eval_direct(mat, dom, zg))


@pytest.mark.parametrize("hiding", [False, True])
def test_commit_from_coefficients_is_the_commitment_of_the_evaluations(hiding):
    """Coefficients (wide and narrow) commit to the same polynomials as their evaluations on
    the domain: the same root and stored extensions."""
    dom, small = Domain(7, GENERATOR * 3 % P), Domain(5)
    wide, narrow = rand((128, 20)), rand((32, 3))
    items_eval = [(dom, coset_dft(wide, dom.shift)), (small, coset_dft(narrow, 1))]
    items_coef = [(dom, pcs.Coefficients.of(wide)), (small, pcs.Coefficients.of(narrow))]
    roots = []
    for items in (items_eval, items_coef):
        scheme = FriPcs(INSECURE_FAST_TEST_PARAMS, hiding=hiding, rng=np.random.default_rng(3))
        root, data = scheme.commit(items)
        roots.append((root, [m.copy() for m in data.tree.matrices]))
    assert roots[0][0] == roots[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(roots[0][1], roots[1][1]))
    with pytest.raises(ValueError):
        FriPcs(INSECURE_FAST_TEST_PARAMS).commit([(dom, pcs.Coefficients.of(rand((64, 2))))])
