# pragma version ~=0.4.3
"""
@title Openings of the keccak MMCS of prover/merkle.py (a Vyper module)
@notice Tree shape (prover/merkle.py): the leaves are the row digests of the tallest group,
        leaf[r] = keccak(rows r of the tallest matrices as LE uint32 bytes || salt[r]);
        level k (k = 0 at the leaves) hashes node = keccak(left || right), the side given
        by bit k of the index (bit set: the node is the right child); where the level's
        output has the height 2^log_h of a shorter group, node = keccak(node || digest_h)
        with digest_h = keccak(rows of the height-h matrices || salt), the row being
        index >> (log_max - log_h). That level is inject_level(log_max, log_h) =
        log_max - log_h - 1.
        The caller builds the digests (group_digest hashes prepared bytes) and passes the
        injections of the shorter groups sorted by level, lowest first.
"""

MAX_LEVELS: constant(uint256) = 32
MAX_INJECT: constant(uint256) = 16
MAX_ROW_BYTES: constant(uint256) = 4096


@internal
@pure
def group_digest(row_bytes: Bytes[MAX_ROW_BYTES], salt: Bytes[32]) -> bytes32:
    """keccak(rows as LE uint32 bytes || salt) (empty salt: unsalted)."""
    return keccak256(concat(row_bytes, salt))


@internal
@pure
def inject_level(log_max: uint256, log_h: uint256) -> uint256:
    """The level after whose hash the digest of a group of log-height log_h < log_max enters."""
    return log_max - log_h - 1


@internal
@pure
def climb(leaf: bytes32, index: uint256, siblings: DynArray[bytes32, MAX_LEVELS],
          inj_levels: DynArray[uint256, MAX_INJECT], inj_digests: DynArray[bytes32, MAX_INJECT]) -> bytes32:
    """prover/merkle.py _climb: the root over len(siblings) levels. inj_levels ascending,
    one digest each; a level outside the path reverts."""
    node: bytes32 = leaf
    n_inj: uint256 = len(inj_levels)
    assert len(inj_digests) == n_inj, "mmcs: injections"
    nxt: uint256 = max_value(uint256)
    if n_inj != 0:
        nxt = inj_levels[0]
    j: uint256 = 0
    for k: uint256 in range(len(siblings), bound=MAX_LEVELS):
        if (index >> k) & 1 != 0:
            node = keccak256(concat(siblings[k], node))
        else:
            node = keccak256(concat(node, siblings[k]))
        if k == nxt:
            node = keccak256(concat(node, inj_digests[j]))
            j = unsafe_add(j, 1)
            nxt = max_value(uint256)
            if j < n_inj:
                nxt = inj_levels[j]
                assert nxt > k, "mmcs: injection levels must ascend"
    assert j == n_inj, "mmcs: injection level out of the path"
    return node


@internal
@pure
def verify(root: bytes32, index: uint256, log_max: uint256, leaf: bytes32,
           inj_levels: DynArray[uint256, MAX_INJECT], inj_digests: DynArray[bytes32, MAX_INJECT],
           siblings: DynArray[bytes32, MAX_LEVELS]) -> bool:
    """Whether the opening at `index` (into the tallest height 2^log_max) reaches `root`.
    Reverts on a malformed opening (path length, index range, injections)."""
    assert len(siblings) == log_max, "mmcs: path length"
    assert index >> log_max == 0, "mmcs: index out of range"
    return self.climb(leaf, index, siblings, inj_levels, inj_digests) == root
