"""Mixed-height keccak Merkle commitments: structure, openings, and every way to cheat."""

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prover import merkle
from prover.errors import VerificationError
from prover.field import P
from prover.keccak import keccak256

RNG = np.random.default_rng(5)


def rand(h, w):
    return RNG.integers(0, P, size=(h, w), dtype=np.uint64).astype(np.uint32)


def mats():
    return [rand(16, 3), rand(4, 2), rand(16, 1), rand(1, 5), rand(4, 1)]


def le(*rows):
    return b"".join(np.asarray(r, dtype="<u4").tobytes() for r in rows)


def test_root_matches_hand_computation():
    a, b = rand(2, 2), rand(1, 3)
    root, _ = merkle.commit_matrices([a, b])
    leaves = [keccak256(le(a[i])) for i in range(2)]
    assert root == keccak256(keccak256(leaves[0] + leaves[1]) + keccak256(le(b[0])))


def test_root_same_height_concatenates_in_order():
    a, b = rand(2, 2), rand(2, 3)
    root, _ = merkle.commit_matrices([a, b])
    leaves = [keccak256(le(a[i], b[i])) for i in range(2)]
    assert root == keccak256(leaves[0] + leaves[1])


def test_salted_root_hand_computation():
    a = rand(2, 2)
    salts = merkle.make_salts([2], np.random.default_rng(0), salt_bytes=8)
    root, _ = merkle.commit_matrices([a], salts)
    leaves = [keccak256(le(a[i]) + salts[0][i].tobytes()) for i in range(2)]
    assert root == keccak256(leaves[0] + leaves[1])


def test_single_row_tree():
    a = rand(1, 4)
    root, tree = merkle.commit_matrices([a])
    assert root == keccak256(le(a[0]))
    rows, proof = tree.open(0)
    merkle.verify_opening(root, tree.dims, 0, rows, proof)


@pytest.mark.parametrize("salted", [False, True])
def test_every_opening_verifies(salted):
    ms = mats()
    salts = merkle.make_salts([m.shape[0] for m in ms], salt_bytes=16) if salted else None
    root, tree = merkle.commit_matrices(ms, salts)
    assert tree.dims == [(16, 3), (4, 2), (16, 1), (1, 5), (4, 1)]
    for i in range(16):
        rows, proof = tree.open(i)
        assert (rows[0] == ms[0][i]).all() and (rows[1] == ms[1][i >> 2]).all() and (rows[3] == ms[3][0]).all()
        merkle.verify_opening(root, tree.dims, i, rows, proof, salt_bytes=16 if salted else 0)


def test_salts_change_root():
    ms = mats()
    hs = [m.shape[0] for m in ms]
    r1, _ = merkle.commit_matrices(ms, merkle.make_salts(hs))
    r2, _ = merkle.commit_matrices(ms, merkle.make_salts(hs))
    r3, _ = merkle.commit_matrices(ms)
    assert len({r1, r2, r3}) == 3


@pytest.fixture
def opened():
    ms = mats()
    salts = merkle.make_salts([m.shape[0] for m in ms], salt_bytes=16)
    root, tree = merkle.commit_matrices(ms, salts)
    rows, proof = tree.open(6)
    merkle.verify_opening(root, tree.dims, 6, rows, proof, salt_bytes=16)
    return root, tree, rows, proof


def reject(root, dims, index, rows, proof, salt_bytes=16):
    with pytest.raises(VerificationError):
        merkle.verify_opening(root, dims, index, rows, proof, salt_bytes=salt_bytes)


@pytest.mark.parametrize("level", range(4))
def test_changed_sibling(opened, level):
    root, tree, rows, proof = opened
    sib = bytearray(proof.siblings[level])
    sib[0] ^= 1
    siblings = list(proof.siblings)
    siblings[level] = bytes(sib)
    reject(root, tree.dims, 6, rows, dataclasses.replace(proof, siblings=siblings))


@pytest.mark.parametrize("matrix", range(5))
def test_changed_row_value(opened, matrix):
    root, tree, rows, proof = opened
    bad = [r.copy() for r in rows]
    bad[matrix][0] = (int(bad[matrix][0]) + 1) % P
    reject(root, tree.dims, 6, bad, proof)


@pytest.mark.parametrize("index", [7, 2, 14, 16, -1])
def test_wrong_index(opened, index):
    root, tree, rows, proof = opened
    reject(root, tree.dims, index, rows, proof)


@pytest.mark.parametrize("dims", [
    [(16, 3), (4, 2), (16, 1), (1, 5), (2, 1)],   # wrong height of one matrix
    [(16, 3), (4, 2), (16, 1), (1, 5)],           # a matrix missing
    [(16, 2), (4, 3), (16, 1), (1, 5), (4, 1)],   # widths swapped
    [(16, 3), (4, 2), (16, 1), (1, 5), (3, 1)],   # not a power of two
    [(32, 3), (4, 2), (32, 1), (1, 5), (4, 1)],   # taller than committed
    [],
])
def test_wrong_dims(opened, dims):
    root, _, rows, proof = opened
    reject(root, dims, 6, rows, proof)


def test_wrong_salt_and_salt_length(opened):
    root, tree, rows, proof = opened
    salts = list(proof.salts)
    salts[1] = bytes(16)
    reject(root, tree.dims, 6, rows, dataclasses.replace(proof, salts=salts))
    reject(root, tree.dims, 6, rows, proof, salt_bytes=0)
    reject(root, tree.dims, 6, rows, proof, salt_bytes=8)


def test_wrong_root(opened):
    _, tree, rows, proof = opened
    reject(bytes(32), tree.dims, 6, rows, proof)


@pytest.mark.parametrize("mutate", [
    lambda r, p: (r[:-1], p),
    lambda r, p: ([np.append(r[0], 1)] + r[1:], p),
    lambda r, p: ([np.full(3, P, np.uint64)] + r[1:], p),
    lambda r, p: ([np.array([0.5, 1, 2])] + r[1:], p),
    lambda r, p: (r, dataclasses.replace(p, siblings=p.siblings[:-1])),
    lambda r, p: (r, dataclasses.replace(p, siblings=p.siblings + [bytes(32)])),
    lambda r, p: (r, dataclasses.replace(p, siblings=[b"x"] + p.siblings[1:])),
    lambda r, p: (r, dataclasses.replace(p, siblings=[None] + p.siblings[1:])),
    lambda r, p: (r, None),
    lambda r, p: ([None] * 5, p),
])
def test_malformed_input_raises_verification_error(opened, mutate):
    root, tree, rows, proof = opened
    bad_rows, bad_proof = mutate(rows, proof)
    reject(root, tree.dims, 6, bad_rows, bad_proof)


def test_commit_rejects_bad_input():
    with pytest.raises(ValueError):
        merkle.commit_matrices([])
    with pytest.raises(ValueError):
        merkle.commit_matrices([rand(3, 2)])
    with pytest.raises(ValueError):
        merkle.commit_matrices([rand(4, 2)], [np.zeros((2, 16), np.uint8)])
    with pytest.raises(ValueError):
        merkle.MerkleTree([rand(4, 2)]).open(4)


def test_large_tree_matches_small_reference():
    """The fast path for big matrices gives the same root as hashing row by row by hand."""
    a, b = rand(1 << 10, 7), rand(1 << 8, 4)
    salts = merkle.make_salts([1 << 10, 1 << 8], np.random.default_rng(1))
    root, tree = merkle.commit_matrices([a, b], salts)
    layer = [keccak256(le(a[i]) + salts[0][i].tobytes()) for i in range(1 << 10)]
    while len(layer) > 1:
        layer = [keccak256(layer[2 * i] + layer[2 * i + 1]) for i in range(len(layer) // 2)]
        if len(layer) == 1 << 8:
            layer = [keccak256(x + keccak256(le(b[i]) + salts[1][i].tobytes())) for i, x in enumerate(layer)]
    assert root == layer[0]


junk = st.one_of(st.none(), st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.binary(max_size=40),
                 st.text(max_size=5), st.lists(st.integers(-5, 2**40), max_size=6),
                 st.lists(st.binary(min_size=32, max_size=32), max_size=6))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field_name=st.sampled_from(["root", "dims", "index", "rows", "siblings", "salts", "salt_bytes"]), value=junk)
def test_fuzzed_opening_only_raises_verification_error(opened, field_name, value):
    """Whatever garbage replaces one input, the verifier answers with VerificationError."""
    root, tree, rows, proof = opened
    args = {"root": root, "dims": tree.dims, "index": 6, "rows": rows, "proof": proof, "salt_bytes": 16}
    if field_name in ("siblings", "salts"):
        try:
            args["proof"] = dataclasses.replace(proof, **{field_name: value})
        except TypeError:
            return
    else:
        if isinstance(value, (int, float)) and value == args[field_name]:
            return  # the generator hit the genuine value (e.g. index 6): nothing is wrong
        args[field_name] = value
    with pytest.raises(VerificationError):
        merkle.verify_opening(**args)


def test_integer_root_is_rejected_without_allocating(opened):
    """bytes(2**40) would allocate a terabyte: the root's type is checked first."""
    _, tree, rows, proof = opened
    with pytest.raises(VerificationError):
        merkle.verify_opening(2**40, tree.dims, 6, rows, proof, salt_bytes=16)
