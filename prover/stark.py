"""Multi-table STARK prover and verifier (Plonky3's uni-stark, several tables, LogUp).

Protocol (every step is mirrored by the verifier; the transcript is keccak):

1. absorb the verifying-key digest, each table's log-height and public values;
2. commit all main traces in one tree (randomised in hiding mode), absorb the root;
3. draw the LogUp challenges ``z, beta``; commit the permutation traces; absorb their
   root and every table's per-bus final sums;
4. draw ``alpha``; for each table evaluate ``sum_i alpha^i C_i(x) / Z_H(x)`` on the
   quotient domain ``GENERATOR * H_{k n}`` and split it into ``k`` chunks of the trace
   degree, chunk ``i`` living on the coset ``GENERATOR * omega_{kn}^i * H_n``; commit;
5. draw ``zeta``; open preprocessed, main and permutation columns at ``zeta`` and
   ``zeta * omega_n`` and the chunks at ``zeta`` through :class:`prover.pcs.FriPcs`;
6. the verifier recomputes ``sum_i alpha^i C_i(zeta)`` from the opened values (via
   :mod:`prover.expr`), recombines ``Q(zeta) = sum_i L_i(zeta) q_i(zeta)`` with the coset
   selectors ``L_i = prod_{j != i} Z_{D_j} / Z_{D_j}(D_i)`` and checks
   ``C(zeta) = Z_H(zeta) Q(zeta)``; it also checks that every closed bus sums to zero.

Zero knowledge (see docs/stark.md): in hiding mode every main and permutation column is
committed as ``f + Z_H r`` on H_{2n} with ``r`` random of degree < h (h just above the
number of evaluations a proof reveals), every quotient chunk ``q_i`` becomes
``q_i + Z_{D_i} r_i`` with random ``r_i`` satisfying ``sum_i r_i / c_i = 0`` (so the
recombination is unchanged), LogUp sums start at blinding values that cancel per bus,
and the PCS salts leaves and masks FRI.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field as dc_field
from typing import Callable, Sequence

import numpy as np
from numba import njit, prange

from prover import expr as E
from prover import field, logup
from prover.air import System, Table, check_buses, check_constraints, check_shapes
from prover.errors import VerificationError
from prover.field import GENERATOR, P, powmod
from prover.fri import bit_reverse_indices
from prover.keccak import keccak256
from prover.ntt import coset_idft, idft
from prover.pcs import Coefficients, CommittedData, Domain, FriPcs, OpenedValues, OpeningProof
from prover.security import DEFAULT, DEFAULT_SHAPE, FriParams
from prover.transcript import Transcript

TRANSCRIPT_LABEL = b"zkmips-stark-v1"
#: Labels of a shared argument's seed-derived challenges and of a proof's binding.
SHARED_LABEL = b"zkmips-shared-logup-v1"
BINDING_LABEL = b"zkmips-proof-binding-v1"
VK_DOMAIN = b"zkmips-vk-v2"
# Committed columns may have degree up to 2^MAX_LOG_HEIGHT (a trace of that many rows, or
# half as many in hiding mode, which doubles the committed degree). It is the instance size
# the security parameters are rated for (security.DEFAULT_SHAPE), so the advertised bits
# hold for every proof the verifier accepts; it also bounds the verifier's work.
MAX_LOG_HEIGHT = DEFAULT_SHAPE.log_trace_len


# ----------------------------------------------------------------------------- keys
@dataclass(frozen=True)
class TableInfo:
    """Everything derived once from a table's description."""

    table: Table
    layout: logup.LogupLayout
    constraints: tuple[E.Expr, ...]
    program: E.Program
    degree: int

    @property
    def has_perm(self) -> bool:
        return bool(self.layout.batches)

    @property
    def main_width(self) -> int:
        """Committed main columns: the table's, plus LogUp blinding columns when hiding."""
        return self.table.width + self.layout.blind_width


def num_chunks(degree: int, log_n: int, mask: int) -> int:
    """Quotient chunks of trace length n for a degree-``d`` table whose committed columns
    have degree below ``n + mask`` (``mask`` = 0 without hiding).

    A constraint has degree at most ``d (n + mask - 1) + 1`` (the ``+ 1``: the linear
    ``is_transition``), so the quotient has degree at most ``(d - 1) n + d (mask - 1) + 1``
    and needs that many plus one points: ``k n`` of them.  (Soundness does not rest on
    this count - the verifier checks a polynomial identity at a random point - only
    completeness does.)"""
    n = 1 << log_n
    need = max(-(-((degree - 1) * n + degree * (mask - 1) + 2) // n), 1)
    return 1 << (need - 1).bit_length()


def min_hiding_rows(params: FriParams) -> int:
    """Smallest trace height for zero knowledge: a proof reveals ``num_queries + 2``
    evaluations of each committed polynomial (queries, zeta, zeta * omega), so its random
    part needs more degrees of freedom than that."""
    need = params.num_queries + 3
    return 1 << (need - 1).bit_length()


def mask_degree(log_n: int, params: FriParams, hiding: bool) -> int:
    """Degree bound h of the random polynomial r in a committed column ``f + Z_H r``:
    0 without hiding, else just above the number of revealed evaluations (capped at n:
    tables that short are masked completely)."""
    if not hiding:
        return 0
    return min(1 << log_n, params.num_queries + 3)


@dataclass
class VerifyingKey:
    """What a verifier needs: the tables, parameters, hiding flag and the root of the
    preprocessed columns; ``digest`` names all of it (it is absorbed first)."""

    system: System
    params: FriParams
    hiding: bool
    pre_root: bytes | None
    pre_log_heights: tuple[int | None, ...]
    digest: bytes
    infos: list[TableInfo] = dc_field(repr=False)


@dataclass
class ProvingKey:
    vk: VerifyingKey
    pre_data: CommittedData | None


#: How the rounds' matrices are committed; part of every circuit digest, so a proof of another
#: layout names another key. 2: preprocessed matrices on the traces' domain (H_2n when hiding).
COMMITMENT_LAYOUT = 2


def circuit_digest(system: System, params: FriParams, hiding: bool) -> bytes:
    """keccak of the tables' description (constraints, widths, buses), the FRI parameters
    and the hiding flag: everything of a key but the preprocessed commitment. The EVM
    verifier is deployed with this digest per circuit, so it rebuilds a key's digest with
    one short keccak instead of hashing the description."""
    desc = {"system": _derived(system, hiding)[1], "params": params.__dict__, "hiding": hiding,
            "logup": logup.LAYOUT_VERSION, "commitments": COMMITMENT_LAYOUT}
    return keccak256(json.dumps(desc, sort_keys=True, separators=(",", ":")).encode())


def vk_digest_of(circuit: bytes, pre_log_heights: Sequence[int | None], pre_root: bytes | None) -> bytes:
    """``keccak(VK_DOMAIN || circuit digest || u8 preprocessed log-height per table (0: none)
    || preprocessed root)``."""
    return keccak256(VK_DOMAIN + circuit + bytes(h or 0 for h in pre_log_heights) + (pre_root or b""))


_DERIVED: dict[tuple[int, bool], tuple[System, object, list[TableInfo]]] = {}


def _derived(system: System, hiding: bool) -> tuple[System, object, list[TableInfo]]:
    """What a key derives from its tables alone (description, LogUp layouts, compiled
    constraints), once per system object: a verifier rebuilds the same keys for every
    receipt it checks, and this is most of that work."""
    hit = _DERIVED.get((id(system), hiding))
    if hit is None or hit[0] is not system:
        system.check_buses_arity()
        infos = []
        for t in system.tables:
            if t.width == 0:
                raise ValueError(f"table {t.name}: needs at least one main column")
            lay = logup.layout(system, t, hiding)
            cons = tuple(t.constraints) + lay.constraints
            infos.append(TableInfo(t, lay, cons, E.compile_program(cons), max(E.max_degree(cons), 1)))
        hit = (system, system.describe(), infos)
        if len(_DERIVED) >= 8:          # (a system holds its preprocessed columns)
            _DERIVED.clear()
        _DERIVED[(id(system), hiding)] = hit
    return hit


def setup(system: System, params: FriParams = DEFAULT, hiding: bool | None = None) -> ProvingKey:
    """Commit the preprocessed columns once and derive the verifying key.

    ``hiding`` defaults to True when any table is marked private.  The preprocessed
    commitment is deterministic (fixed salts in hiding mode: the data is public), so the
    same system always gets the same digest."""
    hiding = any(t.private for t in system.tables) if hiding is None else bool(hiding)
    for t in system.tables:
        if t.pre_width and t.preprocessed is None:
            raise ValueError(f"table {t.name}: preprocessed columns declared but not set")
    # on the domain the hidden traces are committed on (H_2n in zero-knowledge mode), so a
    # table's matrices share one FRI height: each distinct height is a fold stop, one more
    # layer in every query (docs/stark.md, "Preprocessed columns")
    extra = 1 if hiding else 0
    pre_items = [(Domain(_log2(t.preprocessed.shape[0]) + extra),
                  _randomise(t.preprocessed, 0, None) if hiding else t.preprocessed)
                 for t in system.tables if t.pre_width]
    pre_heights = tuple(_log2(t.preprocessed.shape[0]) if t.pre_width else None for t in system.tables)
    pre_root, pre_data = None, None
    if pre_items:
        pcs = FriPcs(params, hiding=hiding, rng=np.random.default_rng(0))
        pre_root, pre_data = pcs.commit(pre_items)
    return ProvingKey(verifying_key(system, params, hiding, pre_root, pre_heights), pre_data)


def verifying_key(system: System, params: FriParams, hiding: bool, pre_root: bytes | None,
                  pre_log_heights: Sequence[int | None]) -> VerifyingKey:
    """The verifying key of ``system`` whose preprocessed columns committed to ``pre_root``
    (heights ``pre_log_heights``): what :func:`setup` derives, rebuilt by a verifier that
    holds the root but not the preprocessed data (the tables' constraints never depend
    on that data, only the commitment does)."""
    pre_log_heights = tuple(pre_log_heights)
    if len(pre_log_heights) != len(system.tables):
        raise ValueError("one preprocessed height per table is needed")
    infos = list(_derived(system, hiding)[2])
    for t, h in zip(system.tables, pre_log_heights):
        if (h is None) != (t.pre_width == 0):
            raise ValueError(f"table {t.name}: preprocessed height does not match its columns")
    if (pre_root is None) != all(h is None for h in pre_log_heights):
        raise ValueError("a preprocessed root is needed exactly when a table has preprocessed columns")
    digest = vk_digest_of(circuit_digest(system, params, hiding), pre_log_heights, pre_root)
    return VerifyingKey(system, params, hiding, pre_root, pre_log_heights, digest, infos)


def _log2(n: int) -> int:
    if n <= 0 or n & (n - 1):
        raise ValueError(f"expected a power of two, got {n}")
    return n.bit_length() - 1


# ----------------------------------------------------------------------------- proof object
@dataclass
class StarkProof:
    """A proof before byte encoding (see prover.proof).  ``opened`` follows the rounds
    pre (if any table has preprocessed columns), main, perm (if any interactions),
    quotient; ``bus_sums[t]`` is ``uint32[len(buses of t), 4]``."""

    log_heights: list[int]
    publics: list[list[int]]
    main_root: bytes
    perm_root: bytes | None
    bus_sums: list[np.ndarray]
    quotient_root: bytes
    opened: OpenedValues
    opening_proof: OpeningProof


@dataclass(frozen=True)
class Statement:
    """What a verified proof establishes: the tables' public values and heights under
    ``vk_digest``, the totals of the open buses, and the LogUp challenges those totals
    were taken under (``logup_challenges`` = (z, beta)): a caller that knows what an open
    bus must carry (a claim's input and journal, a neighbouring segment's boundary)
    recomputes the expected total with them and compares."""

    vk_digest: bytes
    publics: dict[str, list[int]]
    log_heights: dict[str, int]
    open_bus_sums: dict[str, np.ndarray]
    logup_challenges: tuple[np.ndarray, ...] = ()


# ----------------------------------------------------------------------------- helpers
def _absorb_header(tr: Transcript, vk: VerifyingKey, log_heights: Sequence[int], publics: Sequence[Sequence[int]]) -> None:
    tr.absorb_digest(vk.digest)
    tr.absorb_field(np.array(log_heights, dtype=np.uint32))
    for pv in publics:
        if len(pv):
            tr.absorb_field(np.array(pv, dtype=np.uint32))


def _chunk_shifts(log_n: int, k: int) -> list[int]:
    """Shift of chunk i's coset: GENERATOR * omega_{kn}^i."""
    w = field.two_adic_generator(log_n + _log2(k))
    return [GENERATOR * pow(w, i, P) % P for i in range(k)]


def _chunk_weights(log_n: int, shifts: Sequence[int]) -> list[int]:
    """c_i = prod_{j != i} (s_i^n - s_j^n), the value of prod_{j != i} Z_{D_j} on D_i."""
    n = 1 << log_n
    sn = [pow(s, n, P) for s in shifts]
    out = []
    for i in range(len(shifts)):
        c = 1
        for j in range(len(shifts)):
            if j != i:
                c = c * (sn[i] - sn[j]) % P
        out.append(c)
    return out


def _recombine_ext(values: np.ndarray) -> np.ndarray:
    """Opened values of 4m base columns (uint32[4m, 4]) that hold m extension columns
    coefficient-wise -> the m extension values (sum_t v[4c + t] * X^t)."""
    v = np.asarray(values, dtype=np.uint32).reshape(-1, 4, 4)
    out = np.zeros((v.shape[0], 4), dtype=np.uint32)
    for t in range(4):
        basis = np.zeros(4, dtype=np.uint32)
        basis[t] = 1
        out = field.ext_add(out, field.ext_mul(v[:, t, :], basis))
    return out


def random_field(rng: np.random.Generator | None, shape: tuple[int, ...]) -> np.ndarray:
    """Uniform field elements for the zero-knowledge masks: from the OS's CSPRNG (64
    random bits reduced mod p, bias below 2^-32) unless a test passes a seeded ``rng``.
    A non-cryptographic generator would be a leak: salts opened in the proof would let
    an observer recover its state and strip the masks."""
    if rng is not None:
        return rng.integers(0, P, size=shape, dtype=np.uint64).astype(np.uint32)
    count = int(np.prod(shape))
    raw = np.frombuffer(os.urandom(8 * count), dtype=np.uint64)
    return (raw % np.uint64(P)).astype(np.uint32).reshape(shape)


def _randomise(trace: np.ndarray, mask: int, rng: np.random.Generator | None) -> np.ndarray | Coefficients:
    """``f' = f + Z_H r`` for every column ``f`` of ``trace``, with ``r`` uniformly random of
    degree < ``mask``, to commit on H_{2n}.  In coefficient form, ``f' = f - r + X^n r``,
    written by the PCS straight into the extension's buffer (one inverse transform, no
    other buffer; ``r`` is drawn then, in commit order).  When ``mask = n``, as
    evaluations on H_{2n} with no transform at all: even rows are the trace (``Z_H`` = 0
    on H) and odd rows ``(f - 2r)(y)`` (``Z_H = -2`` there), uniform values."""
    n, w = trace.shape
    if mask >= n:
        out = np.empty((2 * n, w), dtype=np.uint32)
        out[0::2] = trace
        out[1::2] = random_field(rng, (n, w))
        return out

    def write(coeffs: np.ndarray) -> None:
        idft(trace, out=coeffs[:n])
        coeffs[n:] = 0
        r = random_field(rng, (mask, w))
        coeffs[:mask] = field.sub(coeffs[:mask], r)
        coeffs[n:n + mask] = r

    return Coefficients(2 * n, w, write)


@njit(parallel=True, cache=True)
def _selector_kernel(xs, zh, points, scales, out):
    """For points xs (in evaluation order): out[s] = scales[s] Z_H(x)/(x - points[s]) for
    s = 0, 1 and out[2] = x - points[1]; Z_H(x) is zh[j // (N / len(zh))] for point j
    (constant on blocks, see _quotient_values).  Montgomery batch inversion per chunk."""
    p = np.uint64(P)
    N = xs.shape[0]
    block = max(N // zh.shape[0], 1)
    chunk = 4096
    nchunks = (N + chunk - 1) // chunk
    for c in prange(nchunks):
        lo = c * chunk
        hi = min(N, lo + chunk)
        for s in range(2):
            pt = np.uint64(points[s])
            scale = np.uint64(scales[s])
            pre = np.empty(hi - lo, np.uint64)
            acc = np.uint64(1)
            for i in range(lo, hi):
                pre[i - lo] = acc
                acc = acc * ((np.uint64(xs[i]) + p - pt) % p) % p
            inv = powmod(acc, P - 2)
            for i in range(hi - 1, lo - 1, -1):
                d = (np.uint64(xs[i]) + p - pt) % p
                out[s, i] = np.uint64(zh[i // block]) * scale % p * (inv * pre[i - lo] % p) % p
                inv = inv * d % p
        pt = np.uint64(points[1])
        for i in range(lo, hi):
            out[2, i] = (np.uint64(xs[i]) + p - pt) % p


def selector_scales(log_n: int) -> tuple[int, int, int]:
    """``omega_n^-1`` and the constants that normalise the Lagrange selectors:
    ``L_0 = Z_H(x) / (n (x - 1))`` and ``L_{n-1} = omega^-1 Z_H(x) / (n (x - omega^-1))``
    are 1 on their row and 0 elsewhere on H, so selectors may also scale values (e.g.
    in a multiplicity), not only switch constraints on and off."""
    w_inv = pow(field.two_adic_generator(log_n), P - 2, P)
    n_inv = pow(1 << log_n, P - 2, P)
    return w_inv, n_inv, w_inv * n_inv % P


def _selector_values(log_n: int, log_N: int, shift: int, zh_blocks: np.ndarray) -> np.ndarray:
    """(is_first, is_last, is_transition) at the points of shift*H_N in bit-reversed order
    for a trace of size n, uint32[3, N]: L_0(x), L_{n-1}(x) and x - omega_n^-1
    (``zh_blocks``: Z_H on each of the blocks of N/k points)."""
    w_inv, first_scale, last_scale = selector_scales(log_n)
    xs = field.mul(field.powers(field.two_adic_generator(log_N), 1 << log_N), shift)
    xs = np.take(xs, bit_reverse_indices(log_N))
    out = np.empty((3, 1 << log_N), dtype=np.uint32)
    _selector_kernel(xs, np.asarray(zh_blocks, dtype=np.uint64), np.array([1, w_inv], dtype=np.uint64),
                     np.array([first_scale, last_scale], dtype=np.uint64), out)
    return out


@functools.lru_cache(maxsize=4)
def _row_maps(log_N: int, k: int) -> np.ndarray:
    """int32[2, N]: for quotient-domain point s in bit-reversed order (natural index
    rev(s)), the storage rows of its value and of the next trace row's value (natural
    index rev(s) + k).  A bit-reversed extension of any height >= N stores the quotient
    domain's points as its first N rows in this order, so the current row is just s:
    the kernel streams through the PCS's matrices sequentially (cached: read only)."""
    N = 1 << log_N
    rev = bit_reverse_indices(log_N)
    maps = np.empty((2, N), dtype=np.int32)
    maps[0] = np.arange(N, dtype=np.int32)
    np.take(rev, (rev + k) & (N - 1), out=maps[1])
    return maps


def _source(data: CommittedData, index: int, log_N: int, maps: np.ndarray) -> E.Source:
    """Column source on the quotient domain GENERATOR * H_N in bit-reversed order.

    When the PCS's extension is at least that tall, its stored (bit-reversed) matrix
    already holds those points as its first N rows, and the kernel reads it in place
    (no 512 MB copy for the benchmark table); otherwise the PCS evaluates anew."""
    if data.lde_log_height(index) >= log_N:
        return E.Source(data.tree.matrices[index], maps)
    return E.Source(data.evaluations_on(index, Domain(log_N, GENERATOR), bit_reversed=True), maps)


# ----------------------------------------------------------------------------- prover
#: The prover's stages, in order, as reported to ``prove(progress=...)``.
PROVE_STAGES = ("check", "commit", "logup", "quotient", "open")


def shared_challenges(seed: bytes) -> list[np.ndarray]:
    """The LogUp challenges of every proof of one shared argument (the segments of an
    execution): drawn from ``seed``, which the caller derives from every proof's
    :func:`proof_binding`, so they come after every main trace is committed."""
    tr = Transcript(SHARED_LABEL)
    tr.absorb_digest(seed)
    return [tr.sample_ext() for _ in range(logup.NUM_CHALLENGES)]


def proof_binding(vk: VerifyingKey, log_heights: Sequence[int], publics: Sequence[Sequence[int]],
                  main_root: bytes) -> bytes:
    """What a shared argument's seed must cover for one proof: its key, heights, public
    values and main commitment (everything absorbed before LogUp challenges)."""
    tr = Transcript(BINDING_LABEL)
    _absorb_header(tr, vk, log_heights, publics)
    tr.absorb_digest(main_root)
    return keccak256(b"".join(int(w).to_bytes(4, "little") for w in (tr.sample_base() for _ in range(8))))


@dataclass
class MainCommitment:
    """A proof after its first round (:func:`commit_main`): the main traces committed, the
    transcript on, the randomness where round 1 left it. :func:`prove_committed` finishes
    it, once: a shared argument's part commits, hands its :attr:`binding` to the
    coordinator, and later goes on from here instead of committing everything again."""

    vk: VerifyingKey
    mains: list[np.ndarray]
    pubs: list[list[int]]
    log_heights: list[int]
    blinds: dict[str, np.ndarray]
    masks: list[int]
    pcs: FriPcs
    tr: Transcript
    rng: np.random.Generator | None
    main_root: bytes
    main_data: CommittedData
    check: bool                      # the debug checks of prove(check=True), carried to the opening
    used: bool = False

    @property
    def binding(self) -> bytes:
        """The :func:`proof_binding` of this proof (what ``logup_seed`` will be given)."""
        return proof_binding(self.vk, self.log_heights, self.pubs, self.main_root)


def commit_main(pk: ProvingKey, traces: dict[str, np.ndarray], publics: dict[str, Sequence[int]] | None = None,
                *, check: bool = False, rng: np.random.Generator | None = None,
                open_totals: dict[str, np.ndarray] | None = None,
                progress: Callable[[str], None] | None = None) -> MainCommitment:
    """Round 1 of :func:`prove`: validate, absorb the header, commit every main trace
    (with the LogUp blinding columns in hiding mode)."""
    report = progress or (lambda stage: None)
    report("check")
    vk = pk.vk
    system = vk.system
    mains, pubs, log_heights = _validated_inputs(vk, traces, publics or {}, check)
    del traces            # memory: a caller that hands over its only reference frees it as we go
    pcs = FriPcs(vk.params, hiding=vk.hiding, rng=rng)
    tr = Transcript(TRANSCRIPT_LABEL)
    _absorb_header(tr, vk, log_heights, pubs)
    extra = 1 if vk.hiding else 0
    if open_totals and not vk.hiding:
        raise ValueError("open-bus totals are blinded only in hiding mode")
    blinds = logup.blinding_values(system, {i.table.name: i.layout for i in vk.infos},
                                   lambda shape: random_field(rng, shape), open_totals)
    committed = [np.hstack([m, logup.blind_columns(blinds[i.table.name], m.shape[0])]) if i.layout.blind_width else m
                 for i, m in zip(vk.infos, mains)]
    masks = [mask_degree(lh, vk.params, vk.hiding) for lh in log_heights]
    report("commit")
    main_items = [(Domain(lh + extra), _randomise(m, h, rng) if vk.hiding else m)
                  for m, lh, h in zip(committed, log_heights, masks)]
    main_root, main_data = pcs.commit(main_items)
    del committed, main_items             # the extension in main_data is all that is needed now
    tr.absorb_digest(main_root)
    return MainCommitment(vk, mains, pubs, log_heights, blinds, masks, pcs, tr, rng, main_root, main_data, check)


def commit_binding(pk: ProvingKey, traces: dict[str, np.ndarray], publics: dict[str, Sequence[int]] | None = None,
                   *, rng: np.random.Generator | None = None,
                   open_totals: dict[str, np.ndarray] | None = None) -> bytes:
    """Round 1 only: the :func:`proof_binding` that :func:`prove` with the same inputs
    and randomness will hand to its ``logup_seed`` callback (a shared argument's
    coordinator collects these from every proof before any proof can go on)."""
    return commit_main(pk, traces, publics, rng=rng, open_totals=open_totals).binding


def prove(pk: ProvingKey, traces: dict[str, np.ndarray], publics: dict[str, Sequence[int]] | None = None,
          *, check: bool = True, rng: np.random.Generator | None = None,
          progress: Callable[[str], None] | None = None, open_totals: dict[str, np.ndarray] | None = None,
          logup_seed: Callable[[bytes], bytes] | None = None) -> StarkProof:
    """Prove that each table's trace satisfies its constraints and that the buses balance.

    ``check`` runs the debug checker first (clear errors for a bad witness); tests that
    build invalid proofs on purpose turn it off.  ``rng`` only makes hiding randomness
    reproducible in tests (by default it comes from the OS's CSPRNG). ``progress`` is
    called with each name of :data:`PROVE_STAGES` as that stage starts.

    A proof that is one part of a shared argument (the segments of one execution, whose
    open buses balance only together) passes ``logup_seed``: called with this proof's
    :func:`proof_binding` once its main traces are committed, it returns the seed of the
    LogUp challenges shared by every part (:func:`shared_challenges`); and
    ``open_totals``: per open bus, a blinding value added to this proof's total (the
    parts' values sum to zero, so a part's total reveals nothing of what it carries)."""
    c = commit_main(pk, traces, publics, check=check, rng=rng, open_totals=open_totals, progress=progress)
    del traces
    return prove_committed(pk, c, progress=progress, logup_seed=logup_seed)


def prove_committed(pk: ProvingKey, c: MainCommitment, *, progress: Callable[[str], None] | None = None,
                    logup_seed: Callable[[bytes], bytes] | None = None) -> StarkProof:
    """Rounds 2 on of :func:`prove`, from its round 1 (:func:`commit_main` with the same key);
    ``c`` is spent (its transcript and randomness move on), so it finishes one proof only."""
    if c.used:
        raise ValueError("this round-1 commitment already went into a proof")
    if c.vk.digest != pk.vk.digest:
        raise ValueError("this round-1 commitment was made with another proving key")
    c.used = True
    report = progress or (lambda stage: None)
    vk = pk.vk
    system = vk.system
    tables = system.tables
    mains, pubs, log_heights, blinds, masks, pcs, tr = c.mains, c.pubs, c.log_heights, c.blinds, c.masks, c.pcs, c.tr
    rng, main_root, main_data, check = c.rng, c.main_root, c.main_data, c.check
    c.mains = c.main_data = None  # type: ignore[assignment]  # memory: freed as the proof goes on
    del c
    extra = 1 if vk.hiding else 0
    if logup_seed is not None:
        seed = logup_seed(proof_binding(vk, log_heights, pubs, main_root))
        tr.absorb_digest(seed)
        challenges = shared_challenges(seed)
    else:
        challenges = None

    # LogUp.
    report("logup")
    if challenges is None:
        challenges = [tr.sample_ext() for _ in range(logup.NUM_CHALLENGES)]
    perm_traces, bus_sums = _permutation_traces(vk, mains, pubs, challenges, blinds)
    del mains
    has_perm = [p is not None for p in perm_traces]
    perm_root, perm_data = None, None
    perm_items = [(Domain(lh + extra), _randomise(p, h, rng) if vk.hiding else p)
                  for p, lh, h in zip(perm_traces, log_heights, masks) if p is not None]
    del perm_traces
    if perm_items:
        perm_root, perm_data = pcs.commit(perm_items)
        del perm_items
        tr.absorb_digest(perm_root)
        for s in bus_sums:
            if len(s):
                tr.absorb_ext(s)

    # Quotients.
    report("quotient")
    alpha = tr.sample_ext()
    pre_index = _index_of([t.pre_width > 0 for t in tables])
    perm_index = _index_of(has_perm)
    chunk_items: list[tuple[Domain, np.ndarray]] = []
    for ti, (info, lh, pv) in enumerate(zip(vk.infos, log_heights, pubs)):
        k = num_chunks(info.degree, lh, masks[ti])
        q = _quotient_values(info, lh, k, pv, challenges, bus_sums[ti], alpha,
                             (main_data, ti), (pk.pre_data, pre_index[ti]), (perm_data, perm_index[ti]))
        chunk_items += _chunks(q, lh, k, masks[ti], rng)
    quotient_root, quotient_data = pcs.commit(chunk_items)
    num_chunk_items = len(chunk_items)
    del chunk_items
    tr.absorb_digest(quotient_root)

    # Openings.
    report("open")
    zeta = tr.sample_ext()
    rounds = []
    nexts = [_ext_mul_base(zeta, field.two_adic_generator(lh)) for lh in log_heights]
    if pk.pre_data is not None:
        rounds.append((pk.pre_data, [[zeta, nexts[i]] for i, t in enumerate(tables) if t.pre_width]))
    rounds.append((main_data, [[zeta, nx] for nx in nexts]))
    if perm_data is not None:
        rounds.append((perm_data, [[zeta, nexts[i]] for i, p in enumerate(has_perm) if p]))
    rounds.append((quotient_data, [[zeta] for _ in range(num_chunk_items)]))
    opened, opening_proof = pcs.open(rounds, tr, check_degree=check)
    return StarkProof(log_heights, pubs, main_root, perm_root, bus_sums, quotient_root, opened, opening_proof)


def _validated_inputs(vk: VerifyingKey, traces: dict[str, np.ndarray], publics: dict[str, Sequence[int]],
                      check: bool) -> tuple[list[np.ndarray], list[list[int]], list[int]]:
    """Every table's trace (canonical uint32), public values and log-height, after the
    shape checks and, with ``check``, the debug checker (constraints and buses)."""
    mains, pubs, log_heights = [], [], []
    for t in vk.system.tables:
        if t.name not in traces:
            raise ValueError(f"no trace for table {t.name}")
        m = _trace_matrix(t, traces[t.name])
        pv = [int(x) % P for x in publics.get(t.name, ())]
        check_shapes(t, m, pv)
        if check:
            check_constraints(t, m, pv)
        limit = MAX_LOG_HEIGHT - (1 if vk.hiding else 0)
        if m.shape[0] > 1 << limit:
            raise ValueError(f"table {t.name}: at most 2^{limit} rows (the size the parameters are rated for)")
        if vk.hiding and m.shape[0] < min_hiding_rows(vk.params):
            raise ValueError(f"table {t.name}: hiding needs at least {min_hiding_rows(vk.params)} rows "
                             f"(more than the points a proof reveals); pad the trace")
        mains.append(m)
        pubs.append(pv)
        log_heights.append(_log2(m.shape[0]))
    if check:
        names = [t.name for t in vk.system.tables]
        check_buses(vk.system, dict(zip(names, mains)), dict(zip(names, pubs)))
    return mains, pubs, log_heights


def _permutation_traces(vk: VerifyingKey, mains: list[np.ndarray], pubs: list[list[int]], challenges,
                        blinds: dict[str, np.ndarray]) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
    """Each table's LogUp trace (None without interactions) and its per-bus final sums."""
    perm_traces: list[np.ndarray | None] = []
    bus_sums: list[np.ndarray] = []
    for info, m, pv in zip(vk.infos, mains, pubs):
        if info.has_perm:
            perm, finals = logup.permutation_trace(vk.system, info.table, info.layout, m, pv, challenges,
                                                   blinds[info.table.name] if info.layout.blind_width else None)
            perm_traces.append(perm)
            bus_sums.append(np.array(finals, dtype=np.uint32).reshape(-1, 4))
        else:
            perm_traces.append(None)
            bus_sums.append(np.zeros((0, 4), dtype=np.uint32))
    return perm_traces, bus_sums


def _trace_matrix(t: Table, trace: np.ndarray) -> np.ndarray:
    """The trace as canonical uint32, without copying one that already is (a 2^20 x 64
    trace is 256 MB: one max-reduction instead of a converted copy)."""
    arr = np.asarray(trace)
    if arr.dtype == np.uint32 and arr.ndim == 2:
        if arr.size and int(arr.max()) >= P:
            raise ValueError(f"table {t.name}: trace holds values >= p")
        return np.ascontiguousarray(arr)
    return field.canonical(arr)


def _index_of(flags: Sequence[bool]) -> list[int | None]:
    out, k = [], 0
    for f in flags:
        out.append(k if f else None)
        k += bool(f)
    return out


def _ext_mul_base(a: np.ndarray, b: int) -> np.ndarray:
    return field.ext_mul_base(np.asarray(a, dtype=np.uint32), np.uint32(b))


def _quotient_values(info: TableInfo, log_n: int, k: int, publics: list[int], challenges, sums: np.ndarray,
                     alpha: np.ndarray, main, pre, perm) -> np.ndarray:
    """``sum_i alpha^i C_i(x) / Z_H(x)`` on GENERATOR * H_{kn} in BIT-REVERSED order,
    uint32[kn, 4] (the order of the PCS's extensions; see :func:`_row_maps`)."""
    log_k = _log2(k)
    log_N = log_n + log_k
    maps = _row_maps(log_N, k)
    sources = {}
    for name, (data, idx) in (("main", main), ("pre", pre), ("perm", perm)):
        sources[name] = _source(data, idx, log_N, maps) if data is not None and idx is not None else None
    n = 1 << log_n
    # Z_H(x) = x^n - 1 depends only on the natural index mod k, i.e. on the block of
    # N/k consecutive bit-reversed points: block b holds natural indices = rev_k(b) mod k.
    wk = field.two_adic_generator(log_k)
    gn = pow(GENERATOR, n, P)
    rev_k = bit_reverse_indices(log_k)
    zh_blocks = np.array([(gn * pow(wk, int(rev_k[b]), P) - 1) % P for b in range(k)], dtype=np.uint32)
    inv_zh = field.inv(zh_blocks)
    sel = _selector_values(log_n, log_N, GENERATOR, zh_blocks) if any(info.program.uses_selectors) else None
    env = E.Env(lambda *a: None, lambda *a: None, publics, challenges, list(sums))
    return E.eval_combined(info.program, env, alpha, n_rows=1 << log_N, main=sources["main"],
                           pre=sources["pre"], perm=sources["perm"], selectors=sel, inv_zh=inv_zh)


def _chunks(q: np.ndarray, log_n: int, k: int, mask: int, rng: np.random.Generator | None
            ) -> list[tuple[Domain, np.ndarray | Coefficients]]:
    """Split the (bit-reversed) quotient into k chunks on the cosets D_i, as 4 base
    columns each in natural order; in hiding mode (``mask`` > 0) add Z_{D_i} r_i with
    deg r_i < mask and sum_i r_i / c_i = 0, committed on s_i H_{2n} (in coefficient
    form: one inverse transform of the chunk, and the PCS extends it directly)."""
    shifts = _chunk_shifts(log_n, k)
    n = 1 << log_n
    rev_k = bit_reverse_indices(_log2(k))
    rev_n = bit_reverse_indices(log_n)
    # Natural index i + k*m sits at bit-reversed position rev_k(i) * n + rev_n(m).
    chunks = [np.take(q[int(rev_k[i]) * n:(int(rev_k[i]) + 1) * n], rev_n, axis=0) for i in range(k)]
    if not mask:
        return [(Domain(log_n, s), c) for s, c in zip(shifts, chunks)]
    cs = _chunk_weights(log_n, shifts)
    coeffs = []
    for _ in range(k - 1):
        r = np.zeros((n, 4), dtype=np.uint32)
        r[:mask] = random_field(rng, (mask, 4))
        coeffs.append(r)
    last = np.zeros((n, 4), dtype=np.uint32)
    for c_i, r in zip(cs[:-1], coeffs):
        last = field.add(last, field.mul(r, pow(c_i, P - 2, P)))
    coeffs.append(field.mul(field.neg(last), cs[-1]))
    def masked(c: np.ndarray, s: int, r: np.ndarray) -> Coefficients:
        """q_i + Z_{D_i} r_i = q_i - s^n r_i + X^n r_i in coefficient form."""
        def write(poly: np.ndarray) -> None:
            coset_idft(c, s, out=poly[:n])
            poly[n:] = 0
            poly[:mask] = field.sub(poly[:mask], field.mul(r[:mask], pow(s, n, P)))
            poly[n:n + mask] = r[:mask]
        return Coefficients(2 * n, 4, write)

    return [(Domain(log_n + 1, s), masked(c, s, r)) for s, c, r in zip(shifts, chunks, coeffs)]


# ----------------------------------------------------------------------------- verifier
def verify(vk: VerifyingKey, proof: StarkProof, publics: dict[str, Sequence[int]] | None = None,
           *, logup_seed: bytes | None = None) -> Statement:
    """Check ``proof`` against ``vk`` (and, if given, the expected public values).

    ``logup_seed``: for one part of a shared argument, the seed its prover was handed
    (the caller recomputes it from every part's :func:`proof_binding`); the open-bus
    totals in the returned :class:`Statement` then balance only over all the parts.

    Returns the :class:`Statement`; raises only :class:`VerificationError`."""
    try:
        return _verify(vk, proof, publics, logup_seed)
    except VerificationError:
        raise
    except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError, ZeroDivisionError) as exc:
        raise VerificationError(f"malformed proof ({type(exc).__name__}: {exc})") from None


def _expect(cond: bool, msg: str) -> None:
    if not cond:
        raise VerificationError(msg)


def _ext_value(v: object, what: str) -> np.ndarray:
    arr = np.asarray(v)
    _expect(arr.shape == (4,) and arr.dtype.kind in "ui" and int(arr.min()) >= 0 and int(arr.max()) < P,
            f"{what} must be a canonical extension element")
    return arr.astype(np.uint32)


def _opened_matrix(opened: OpenedValues, r: int, m: int, npoints: int, width: int, what: str) -> list[np.ndarray]:
    _expect(r < len(opened) and m < len(opened[r]), f"missing opened values for {what}")
    pts = opened[r][m]
    _expect(isinstance(pts, list) and len(pts) == npoints, f"{what}: expected {npoints} opening points")
    out = []
    for v in pts:
        arr = np.asarray(v)
        _expect(arr.shape == (width, 4) and arr.dtype.kind in "ui" and (arr.size == 0 or
                (int(arr.min()) >= 0 and int(arr.max()) < P)), f"{what}: opened values have the wrong shape")
        out.append(arr.astype(np.uint32))
    return out


def _check_header(vk: VerifyingKey, proof: StarkProof, expected: dict[str, Sequence[int]] | None) -> None:
    """Heights, public values and roots: present, well-formed, matching the key and the
    expected statement."""
    _expect(isinstance(proof, StarkProof), "not a STARK proof")
    tables = vk.system.tables
    nt = len(tables)
    _expect(len(proof.log_heights) == nt and len(proof.publics) == nt and len(proof.bus_sums) == nt,
            "proof does not cover every table")
    for t, lh, pv, pre_h in zip(tables, proof.log_heights, proof.publics, vk.pre_log_heights):
        _expect(isinstance(lh, int) and 1 <= lh <= MAX_LOG_HEIGHT - (1 if vk.hiding else 0),
                f"table {t.name}: bad height")
        _expect(pre_h is None or pre_h == lh, f"table {t.name}: height differs from its preprocessed columns")
        _expect(len(pv) == len(t.public_names) and all(isinstance(x, int) and 0 <= x < P for x in pv),
                f"table {t.name}: bad public values")
        if expected is not None:
            # The caller's statement is taken as it is, never reduced mod p: reducing would
            # let one proof verify distinct integer claims (out and out + p, or -1 and p - 1).
            want = list(expected.get(t.name, ()))
            _expect(all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) and 0 <= x < P for x in want),
                    f"table {t.name}: expected public values must be integers in [0, p)")
            _expect(list(pv) == [int(x) for x in want], f"table {t.name}: public values differ from the statement")
    for name, root in (("main", proof.main_root), ("quotient", proof.quotient_root)):
        _expect(isinstance(root, bytes) and len(root) == 32, f"bad {name} commitment")


def _bus_sums(vk: VerifyingKey, proof: StarkProof) -> dict[str, dict[str, np.ndarray]]:
    """The exposed LogUp sums as ``sums[table][bus]``, shape-checked against the key."""
    sums: dict[str, dict[str, np.ndarray]] = {}
    for info, s in zip(vk.infos, proof.bus_sums):
        arr = np.asarray(s)
        nb = len(info.layout.sums)
        _expect(arr.shape == (nb, 4) and (nb == 0 or (arr.dtype.kind in "ui" and int(arr.min()) >= 0
                and int(arr.max()) < P)), f"table {info.table.name}: bad bus sums")
        sums[info.table.name] = {b: arr[i].astype(np.uint32) for i, b in enumerate(info.layout.sums)}
    return sums


def _verify(vk: VerifyingKey, proof: StarkProof, expected: dict[str, Sequence[int]] | None,
            logup_seed: bytes | None) -> Statement:
    _check_header(vk, proof, expected)
    system, tables = vk.system, vk.system.tables
    tr = Transcript(TRANSCRIPT_LABEL)
    _absorb_header(tr, vk, proof.log_heights, proof.publics)
    tr.absorb_digest(proof.main_root)
    if logup_seed is not None:
        _expect(isinstance(logup_seed, bytes) and len(logup_seed) == 32, "bad shared seed")
        tr.absorb_digest(logup_seed)
        challenges = shared_challenges(logup_seed)
    else:
        challenges = [tr.sample_ext() for _ in range(logup.NUM_CHALLENGES)]
    has_perm = [info.has_perm for info in vk.infos]
    sums = _bus_sums(vk, proof)
    if any(has_perm):
        _expect(isinstance(proof.perm_root, bytes) and len(proof.perm_root) == 32, "bad permutation commitment")
        tr.absorb_digest(proof.perm_root)
        for s in proof.bus_sums:
            if len(s):
                tr.absorb_ext(np.asarray(s, dtype=np.uint32))
    else:
        _expect(proof.perm_root is None, "unexpected permutation commitment")
    open_sums = logup.check_bus_sums(system, sums)

    alpha = tr.sample_ext()
    tr.absorb_digest(proof.quotient_root)
    zeta = tr.sample_ext()

    extra = 1 if vk.hiding else 0
    r = 0
    pre_round = main_round = perm_round = None
    if vk.pre_root is not None:
        pre_round, r = r, r + 1
    main_round, r = r, r + 1
    if any(has_perm):
        perm_round, r = r, r + 1
    quot_round = r
    _expect(isinstance(proof.opened, list) and len(proof.opened) == r + 1, "wrong number of opening rounds")

    pcs_rounds: list = [[] for _ in range(r + 1)]
    pre_i = perm_i = chunk_i = 0
    for info, lh, pv, s in zip(vk.infos, proof.log_heights, proof.publics, proof.bus_sums):
        t = info.table
        n = 1 << lh
        nxt = _ext_mul_base(zeta, field.two_adic_generator(lh))
        cols: dict[str, list[np.ndarray]] = {}
        if t.pre_width:
            cols[E.PRE] = _opened_matrix(proof.opened, pre_round, pre_i, 2, t.pre_width, f"{t.name} pre")
            pcs_rounds[pre_round].append((Domain(lh + extra), list(zip([zeta, nxt], cols[E.PRE]))))
            pre_i += 1
        ti = tables.index(t)
        cols[E.MAIN] = _opened_matrix(proof.opened, main_round, ti, 2, info.main_width, f"{t.name} main")
        pcs_rounds[main_round].append((Domain(lh + extra), list(zip([zeta, nxt], cols[E.MAIN]))))
        if info.has_perm:
            raw = _opened_matrix(proof.opened, perm_round, perm_i, 2, info.layout.width, f"{t.name} perm")
            pcs_rounds[perm_round].append((Domain(lh + extra), list(zip([zeta, nxt], raw))))
            cols[E.PERM] = [_recombine_ext(v) for v in raw]
            perm_i += 1
        k = num_chunks(info.degree, lh, mask_degree(lh, vk.params, vk.hiding))
        shifts = _chunk_shifts(lh, k)
        chunk_vals = []
        for c, sft in enumerate(shifts):
            (v,) = _opened_matrix(proof.opened, quot_round, chunk_i, 1, 4, f"{t.name} quotient chunk {c}")
            pcs_rounds[quot_round].append((Domain(lh + extra, sft), [(zeta, v)]))
            chunk_vals.append(_recombine_ext(v)[0])
            chunk_i += 1
        _check_table(info, n, zeta, cols, pv, challenges, np.asarray(s, dtype=np.uint32), alpha, shifts, chunk_vals)
    counts = {pre_round: pre_i, main_round: len(tables), perm_round: perm_i, quot_round: chunk_i}
    for rnd, count in counts.items():
        if rnd is not None:
            _expect(len(proof.opened[rnd]) == count, f"opening round {rnd} has the wrong number of matrices")
    roots = ([vk.pre_root] if vk.pre_root is not None else []) + [proof.main_root] + \
        ([proof.perm_root] if any(has_perm) else []) + [proof.quotient_root]
    pcs = FriPcs(vk.params, hiding=vk.hiding)
    pcs.verify(list(zip(roots, pcs_rounds)), proof.opening_proof, tr)
    return Statement(vk.digest, {t.name: list(pv) for t, pv in zip(tables, proof.publics)},
                     {t.name: lh for t, lh in zip(tables, proof.log_heights)}, open_sums,
                     tuple(np.asarray(c, dtype=np.uint32) for c in challenges))


def _check_table(info: TableInfo, n: int, zeta: np.ndarray, cols: dict[str, list[np.ndarray]], publics: list[int],
                 challenges, sums: np.ndarray, alpha: np.ndarray, shifts: list[int], chunk_vals: list[np.ndarray]) -> None:
    """C(zeta) == Z_H(zeta) * sum_i L_i(zeta) q_i(zeta) for one table."""
    t = info.table
    one = field.ext_from_base(np.uint32(1))
    zh = field.ext_sub(field.ext_pow(zeta, n), one)
    _expect(bool(np.any(zh)), "out-of-domain point lies in the trace domain")
    w_inv, first_scale, last_scale = selector_scales(n.bit_length() - 1)
    zeta_minus_winv = field.ext_sub(zeta, field.ext_from_base(np.uint32(w_inv)))
    selectors = {
        E.FIRST: field.ext_mul_base(field.ext_mul(zh, field.ext_inv(field.ext_sub(zeta, one))), np.uint32(first_scale)),
        E.LAST: field.ext_mul_base(field.ext_mul(zh, field.ext_inv(zeta_minus_winv)), np.uint32(last_scale)),
        E.TRANSITION: zeta_minus_winv,
    }

    def column(kind: str, i: int, is_next: bool) -> np.ndarray:
        v = cols[kind][1 if is_next else 0]
        return v[i]

    env = E.Env(column, lambda s: selectors[s], publics, challenges, list(sums))
    folded = E.combine_at_point(info.constraints, env, alpha)
    # Q(zeta) from the chunks.
    sn = [pow(s, n, P) for s in shifts]
    cs = _chunk_weights(n.bit_length() - 1, shifts)
    zn = field.ext_pow(zeta, n)
    q = np.zeros(4, dtype=np.uint32)
    for i, qi in enumerate(chunk_vals):
        li = field.ext_from_base(np.uint32(pow(cs[i], P - 2, P)))
        for j in range(len(shifts)):
            if j != i:
                li = field.ext_mul(li, field.ext_sub(zn, field.ext_from_base(np.uint32(sn[j]))))
        q = field.ext_add(q, field.ext_mul(li, qi))
    _expect(np.array_equal(folded, field.ext_mul(zh, q)), f"table {t.name}: constraints do not hold at zeta")
