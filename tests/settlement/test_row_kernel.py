"""The assembled row-combination kernel (settlement/evm_row_kernel.py) against its Python
specification on the embedded chain, and the assembler it is built with (settlement/evm_asm.py).
The kernel inside the verifier is exercised by tests/settlement/test_onchain_verifier.py."""

from __future__ import annotations

import os
import random
import re

import numpy as np
import pytest

from prover import field
from settlement import chain
from settlement import evm_row_kernel as K
from prover.merkle import MerkleTree, make_salts
from settlement.evm_asm import Label, Push, PushLabel, assemble, deployment_code

QUERIES_VY = chain.CONTRACTS_DIR / "verifier" / "queries.vy"


@pytest.fixture(scope="module")
def w3(embedded_chain):
    return embedded_chain


@pytest.fixture(scope="module")
def kernel(row_kernel) -> str:
    return row_kernel


def _ext(rng: random.Random) -> int:
    return sum(rng.randrange(K.P) << (64 * i) for i in range(4))


def _case(rng: random.Random, *, bad: int | None = None):
    """A random query: matrices of random widths (tails included), one or two points each,
    salt-like bytes between rows, the query at a random shift inside the window."""
    width, groups = rng.randint(1, 40), rng.randint(1, 6)
    powers = [_ext(rng) for _ in range(width)]
    rows, mats, slots = bytearray(rng.randbytes(rng.randint(0, 9))), [], []
    for _ in range(rng.randint(1, 6)):
        w, points = rng.randint(1, width), rng.randint(1, 2)
        at = len(rows)
        rows += b"".join(rng.randrange(K.P).to_bytes(4, "little") for _ in range(w))
        rows += rng.randbytes(rng.randint(0, 20))
        first = len(slots) // 5
        for _ in range(points):
            slots += K.slot_record(rng.randrange(groups), _ext(rng))
        mats.append(K.mat_record(at, first, points, w))
    if bad is not None:                      # value p + bad at the first matrix's column `bad`
        e = mats[0]
        col = min(bad, (e & 0xFFFF) - 1)
        at = (e >> 40) + 4 * col
        rows[at:at + 4] = (K.P + rng.randrange(2**32 - K.P)).to_bytes(4, "little")
    shift = rng.randint(0, 100)
    window = rng.randbytes(shift) + bytes(rows) + rng.randbytes(rng.randint(0, 64))
    head = K.input_head(powers, mats, slots, groups)
    return powers, mats, slots, groups, bytes(rows), K.calldata(head, window, shift)


def _call(w3, kernel: str, data: bytes) -> list[int]:
    out = w3.eth.call({"to": kernel, "data": data})
    return [int.from_bytes(out[i:i + 32], "big") for i in range(0, len(out), 32)]


def test_the_kernel_computes_its_specification(w3, kernel):
    rng = random.Random(int(os.environ.get("ZKMIPS_TEST_SEED", "7")))
    for _ in range(40):
        powers, mats, slots, groups, rows, data = _case(rng)
        assert _call(w3, kernel, data) == K.group_sums(powers, mats, slots, groups, rows)


def test_the_specification_is_the_deep_sum_in_the_extension_field():
    """group_sums against prover.field: sum over slots of offset * sum_c alpha^c v_c."""
    rng = random.Random(3)
    powers, mats, slots, groups, rows, _ = _case(rng)
    unpack = lambda x: np.array([(x >> (64 * i)) & (2**64 - 1) for i in range(4)], dtype=np.uint32)  # noqa: E731
    want = [np.zeros(4, np.uint32) for _ in range(groups)]
    for e in mats:
        at, first, points, w = e >> 40, (e >> 24) & 0xFFFF, (e >> 16) & 0xFF, e & 0xFFFF
        comb = np.zeros(4, np.uint32)
        for c in range(w):
            v = int.from_bytes(rows[at + 4 * c: at + 4 * c + 4], "little")
            comb = field.ext_add(comb, field.ext_mul_base(unpack(powers[c]), v))
        for s in range(first, first + points):
            g = slots[5 * s]
            want[g] = field.ext_add(want[g], field.ext_mul(comb, unpack(slots[5 * s + 1])))
    got = K.group_sums(powers, mats, slots, groups, rows)
    assert [list(unpack(x)) for x in got] == [list(x) for x in want]


@pytest.mark.parametrize("column", [0, 3, 7, 8, 13])
def test_a_non_canonical_value_reverts(w3, kernel, column):
    """In a full word of eight values and in a row's tail alike."""
    rng = random.Random(100 + column)
    while True:
        powers, mats, slots, groups, rows, data = _case(rng, bad=column)
        if (mats[0] & 0xFFFF) > column:
            break
    with pytest.raises(ValueError):
        K.group_sums(powers, mats, slots, groups, rows)
    with pytest.raises(chain._revert_errors()):
        w3.eth.call({"to": kernel, "data": data})


def _mmcs_opening(rng: random.Random, heights: list[int], salted: bool, index: int | None = None, at: int = 0):
    """A mixed-height Merkle tree of prover/merkle.py opened at ``index`` (random if None),
    laid out as a query blob lays out a round (groups of rows and salt, tallest first, then
    the siblings) from byte ``at``; its root, bytes, walk records and index."""
    np_rng = np.random.default_rng(rng.randrange(2**32))
    mats = [np_rng.integers(0, K.P, size=(h, rng.randint(1, 9)), dtype=np.uint32) for h in heights]
    tree = MerkleTree(mats, make_salts(heights, np_rng) if salted else None)
    index = rng.randrange(tree.heights[0]) if index is None else index
    rows, proof = tree.open(index)
    blob, walk = bytearray(), []
    for g, h in enumerate(tree.heights):
        start = at + len(blob)
        for m, row in zip(mats, rows):
            if m.shape[0] == h:
                blob += row.astype("<u4").tobytes()
        blob += proof.salts[g] if salted else b""
        level = 0 if g == 0 else tree.log_max - (h.bit_length() - 1) - 1
        walk.append(K.group_record(start, at + len(blob) - start, level))
    walk.insert(0, K.walk_header(tree.log_max, 0, len(tree.heights), at + len(blob)))
    blob += b"".join(proof.siblings)
    return tree.root, bytes(blob), walk, index


@pytest.mark.parametrize("heights, salted", [([8], True), ([32, 32, 8, 4, 4, 1], True), ([64, 16, 2], False),
                                             ([16, 16, 16], True)])
def test_the_walk_climbs_to_the_merkle_root(w3, kernel, heights, salted):
    """Two rounds, the second a shorter tree opened at the index shifted to its height, as
    the rounds of a proof are: the kernel, the Python specification and prover/merkle.py's
    roots agree."""
    rng = random.Random(str(heights))
    pad = rng.randbytes(rng.randint(0, 40))
    root, blob, walk, index = _mmcs_opening(rng, heights, salted, at=len(pad))
    shift = 2
    short = [max(h >> shift, 1) for h in heights]
    root2, blob2, walk2, _ = _mmcs_opening(rng, short, salted, index=index >> shift, at=len(pad) + len(blob))
    walk2[0] |= shift << 8
    rows, walks = pad + blob + blob2, walk + walk2
    assert K.walk_roots(rows, walks, index) == [root, root2]
    head = K.input_head([1], [], [], 0, walks)
    out = _call(w3, kernel, K.calldata(head, rows, 0, index))
    assert [x.to_bytes(32, "big") for x in out] == [root, root2]


def test_a_changed_row_salt_or_sibling_changes_the_root(w3, kernel):
    rng = random.Random(9)
    root, blob, walk, index = _mmcs_opening(rng, [32, 8, 2], True)
    head = K.input_head([1], [], [], 0, walk)
    first, first_len = walk[1] >> 64, (walk[1] >> 16) & ((1 << 48) - 1)
    for at in (first, first + first_len - 1, walk[2] >> 64, len(blob) - 1):
        bad = bytearray(blob)
        bad[at] ^= 1
        out = _call(w3, kernel, K.calldata(head, bytes(bad), 0, index))
        assert out[0].to_bytes(32, "big") != root
    assert _call(w3, kernel, K.calldata(head, blob, 0, index))[0].to_bytes(32, "big") == root


def test_a_left_over_injection_reverts(w3, kernel):
    rng = random.Random(4)
    root, blob, walk, index = _mmcs_opening(rng, [16, 4], True)
    walk[2] = K.group_record(walk[2] >> 64, (walk[2] >> 16) & ((1 << 48) - 1), 9)   # level 9 > 4 levels
    head = K.input_head([1], [], [], 0, walk)
    with pytest.raises(ValueError):
        K.walk_roots(blob, walk, index)
    with pytest.raises(chain._revert_errors()):
        w3.eth.call({"to": kernel, "data": K.calldata(head, blob, 0, index)})


def test_the_window_and_bounds_are_the_verifiers():
    """evm_row_kernel's ROW_WINDOW is queries.vy's (the blob is padded to it)."""
    src = QUERIES_VY.read_text()
    assert int(re.search(r"^ROW_WINDOW: public\(constant\(uint256\)\) = (\d+)", src, re.M).group(1)) == K.ROW_WINDOW


# ----------------------------------------------------------------------------- the assembler
def test_assembler_resolves_labels_and_pushes(w3):
    """A loop summing 1..n: labels, jumps and pushes of every size run as written."""
    prog = [Push(0), Push(10),                              # [n, acc]
            Label("loop"), "DUP1", "ISZERO", PushLabel("end"), "JUMPI",
            "DUP1", "SWAP2", "ADD", "SWAP1", Push(1), "SWAP1", "SUB",
            PushLabel("loop"), "JUMP",
            Label("end"), "POP", Push(2**255), "OR", "PUSH0", "MSTORE", Push(32), "PUSH0", "RETURN"]
    addr = chain.deploy_code(w3, assemble(prog))
    assert int.from_bytes(w3.eth.call({"to": addr}), "big") == 2**255 + 55
    assert bytes(w3.eth.get_code(addr)) == assemble(prog)


@pytest.mark.parametrize("prog, message", [
    (["FOO"], "unknown EVM mnemonic"),
    ([Label("a"), Label("a")], "defined twice"),
    ([PushLabel("nowhere")], "never defined"),
    ([Push(-1)], "not a 256-bit word"),
    ([Push(2**256)], "not a 256-bit word"),
])
def test_assembler_refuses_bad_programs(prog, message):
    with pytest.raises(ValueError, match=message):
        assemble(prog)


def test_deployment_code_refuses_code_over_the_contract_limit():
    with pytest.raises(ValueError, match="24,576"):
        deployment_code(b"\0" * 24577)
