"""Segmented receipts: a claim and the STARK proofs of its segments and of its memory.

Byte format (docs/receipt-format.md, "Segmented receipts")::

    "ZKMS" | u16 version | u16 flags (0)
    claim:    image_id[32] | input_digest[32] | blob input | blob journal | u8 exit_code | u64 cycles
    keys:     blob preset name | u32 input_read
              memory key, segment key, joined key: each pre_root[32] | u16 tables, u8 log-height each (0: none)
    proofs:   u8 layout | [split: blob memory proof] | u32 N | N x blob proof   (docs/proof-format.md)

Two layouts of the proofs (docs/segments.md): *split*, the memory proof and one proof per
segment, tied by the open ``gmem`` and ``private`` buses; *joined*, for a run of one
segment, one proof under the joined key holding both (those buses closed inside it).

:func:`verify_segmented` needs the receipt only and never runs the program: it rebuilds
the three verifying keys, checks the image id, recomputes the shared seed from the claim
and every proof's binding, verifies each proof under it with the public values the claim
and the segment's position imply, and checks the open buses: ``gmem`` and ``private``
sum to zero over all proofs (the segments join up, and the first/last join the image and
the final memory), ``input``/``journal`` to the claim's bytes.
"""

from __future__ import annotations

import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from prover import field as F
from prover import proof as stark_bytes
from prover import stark
from prover.air import System
from prover.errors import VerificationError
from prover.keccak import keccak256
from prover.randomness import KeyedRandom
from prover.security import DEFAULT, FriParams
from prover.zkmips import keys as whole_run
from prover.zkmips import machine as MC
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips import segments as SG
from prover.zkmips import syscall as S
from prover.zkmips.claim import MAX_IO_BYTES, Claim, expected_publics
from prover.zkmips.receipt import (params_of, read_head, read_key, receipt_reader, table_shapes, write_head,
                                   write_key)
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL

MAGIC = b"ZKMS"
VERSION = 2
#: The proofs' layouts (the byte after the keys).
SPLIT, JOINED = 0, 1
MAX_SEGMENT_PROOFS = M.MAX_SEGMENTS - 1
MAX_RECEIPT_BYTES = 1 << 34
#: A run's cycles stay below p: the kernel row's clock, ``ts = 8 (cyc - clk_offset)`` in the
#: field, then has no second solution ``cyc - p`` (docs/segments.md, "The exit and the clock").
MAX_RUN_CYCLES = F.P


@dataclass(frozen=True)
class KeyRef:
    pre_root: bytes
    pre_log_heights: tuple[int | None, ...]


@dataclass(frozen=True)
class SegmentedReceipt:
    """A claim and its proofs. ``joined``: ``segment_proofs`` is the one proof of a
    one-segment run under the joined key, and ``memory_proof`` is empty."""

    claim: Claim
    preset: str
    input_read: int
    memory_key: KeyRef
    segment_key: KeyRef
    joined_key: KeyRef
    memory_proof: bytes
    segment_proofs: tuple[bytes, ...] = field(default_factory=tuple)
    joined: bool = False

    def encode(self) -> bytes:
        w = write_head(MAGIC, VERSION, self.claim)
        w.blob(self.preset.encode())
        w.u32(self.input_read)
        for ref in (self.memory_key, self.segment_key, self.joined_key):
            write_key(w, ref.pre_root, ref.pre_log_heights)
        w.u8(JOINED if self.joined else SPLIT)
        if not self.joined:
            w.blob(self.memory_proof)
        w.u32(len(self.segment_proofs))
        for p in self.segment_proofs:
            w.blob(p)
        return b"".join(w.parts)

    @property
    def proof_shape(self) -> dict:
        """The proofs' shape without verifying them (for ``zkmips inspect``): the tables
        of the first segment's proof (every segment has the same ones)."""
        system = joined_verifier_system() if self.joined else segment_verifier_system()
        return {"preset": self.preset, "segments": len(self.segment_proofs), "joined": self.joined,
                "memory_proof_bytes": len(self.memory_proof),
                "segment_proof_bytes": [len(p) for p in self.segment_proofs],
                **table_shapes(self.segment_proofs[0], system)}


def decode(data: bytes) -> SegmentedReceipt:
    """Parse (no verification); raises VerificationError on malformed bytes."""
    try:
        r = receipt_reader(data, MAX_RECEIPT_BYTES)
        claim = read_head(r, MAGIC, VERSION, "segmented zkMIPS receipt")
        preset = r.blob().decode("ascii")
        input_read = r.u32()
        refs = [KeyRef(*read_key(r)) for _ in range(3)]
        layout = r.u8()
        if layout not in (SPLIT, JOINED):
            raise VerificationError(f"unknown proof layout {layout}")
        memory_proof = r.blob() if layout == SPLIT else b""
        n = r.u32()
        if not 1 <= n <= MAX_SEGMENT_PROOFS:
            raise VerificationError(f"a receipt holds 1 to {MAX_SEGMENT_PROOFS} segments, not {n}")
        if layout == JOINED and n != 1:
            raise VerificationError(f"a joined receipt holds one segment, not {n}")
        proofs = tuple(r.blob() for _ in range(n))
        r.done()
    except (ValueError, UnicodeDecodeError, struct.error) as e:
        raise VerificationError(f"malformed receipt ({e})") from None
    return SegmentedReceipt(claim, preset, input_read, *refs, memory_proof, proofs, layout == JOINED)


# ----------------------------------------------------------------------------- verifier keys
@lru_cache(maxsize=1)
def segment_verifier_system() -> System:
    return MC.build_system(MC.segment_tables(np.zeros((2, len(P.FIELDS)), np.uint32)))


@lru_cache(maxsize=1)
def memory_verifier_system() -> System:
    return MC.build_system(MC.image_tables(M.MemoryImage(np.zeros(0), np.zeros(0))))


def joined_verifier_system() -> System:
    """The joined key's system: every table in one proof (the whole-run proof's system)."""
    return whole_run.verifier_system()


def receipt_tag(params: FriParams) -> str:
    """What a receipt at ``params`` depends on besides its program and inputs (the format
    version and the three circuits): the key of caches of proven receipts (tests, benchmarks),
    so that a changed prover proves again."""
    systems = (segment_verifier_system(), memory_verifier_system(), joined_verifier_system())
    digest = keccak256(VERSION.to_bytes(2, "little") + b"".join(stark.circuit_digest(s, params, True) for s in systems))
    return digest.hex()[:12]


def _vk(system: System, params: FriParams, ref: KeyRef, what: str) -> stark.VerifyingKey:
    if len(ref.pre_log_heights) != len(system.tables):
        raise VerificationError(f"the receipt's {what} key does not describe the zkMIPS tables")
    try:
        return stark.verifying_key(system, params, True, ref.pre_root, ref.pre_log_heights)
    except ValueError as e:
        raise VerificationError(f"the receipt's {what} key is malformed ({e})") from None


def _decode_proof(data: bytes, vk: stark.VerifyingKey, what: str) -> stark.StarkProof:
    proof, digest, hiding = stark_bytes.decode(data)
    if digest != vk.digest or not hiding:
        raise VerificationError(f"{what} was made under another verifying key")
    return proof


def _binding(vk: stark.VerifyingKey, proof: stark.StarkProof) -> bytes:
    try:
        return stark.proof_binding(vk, proof.log_heights, proof.publics, proof.main_root)
    except (ValueError, TypeError) as e:
        raise VerificationError(f"malformed proof header ({e})") from None


@dataclass(frozen=True)
class ProofItem:
    """One proof of a receipt, decoded under its key: ``segment`` is its segment's number
    (0: the memory proof)."""

    what: str
    vk: stark.VerifyingKey
    proof: stark.StarkProof
    segment: int

    @property
    def binding(self) -> bytes:
        return _binding(self.vk, self.proof)


@dataclass(frozen=True)
class ReceiptKeys:
    memory: stark.VerifyingKey
    segment: stark.VerifyingKey
    joined: stark.VerifyingKey

    @property
    def image_id(self) -> bytes:
        return SG.image_id_of(self.segment.digest, self.memory.digest, self.joined.digest)


def receipt_keys(rec: SegmentedReceipt, params: FriParams) -> ReceiptKeys:
    """The three verifying keys a receipt names (what its image id is the digest of)."""
    return ReceiptKeys(_vk(memory_verifier_system(), params, rec.memory_key, "memory"),
                       _vk(segment_verifier_system(), params, rec.segment_key, "segment"),
                       _vk(joined_verifier_system(), params, rec.joined_key, "joined"))


def receipt_proofs(rec: SegmentedReceipt, keys: ReceiptKeys) -> list[ProofItem]:
    """Every proof of ``rec`` decoded under its key, in the shared seed's order (a split
    receipt's memory proof first)."""
    if rec.joined:
        if len(rec.segment_proofs) != 1 or rec.memory_proof:
            raise VerificationError("a joined receipt holds exactly one proof")
        return [ProofItem("joined proof", keys.joined,
                          _decode_proof(rec.segment_proofs[0], keys.joined, "the joined proof"), 1)]
    items = [ProofItem("memory proof", keys.memory, _decode_proof(rec.memory_proof, keys.memory,
                                                                      "the memory proof"), 0)]
    for i, p in enumerate(rec.segment_proofs):
        items.append(ProofItem(f"segment {i + 1}", keys.segment, _decode_proof(p, keys.segment, f"segment {i + 1}"),
                               i + 1))
    return items


def segment_cycles(item: ProofItem) -> int:
    """The cycle count a segment's proof claims (its CPU table's public value), checked
    to be a segment's."""
    cpu_at = [t.name for t in item.vk.system.tables].index(MC.C.TABLE_NAME)
    pub = item.proof.publics
    c = pub[cpu_at][0] if len(pub) > cpu_at and len(pub[cpu_at]) == 1 else -1
    if not (isinstance(c, int) and 1 <= c <= SG.MAX_SEGMENT_CYCLES):
        raise VerificationError(f"{item.what}: bad cycle count")
    return c


def verify_segmented(data: bytes, expected_image_id: bytes | None = None, *, allow_insecure: bool = False) -> Claim:
    """The claim of a valid segmented receipt; raises VerificationError otherwise."""
    rec = decode(data)
    claim = rec.claim
    params = params_of(rec.preset, allow_insecure)
    keys = receipt_keys(rec, params)
    if keys.image_id != claim.image_id:
        raise VerificationError("the image id does not match the receipt's verifying keys")
    if expected_image_id is not None and claim.image_id != bytes(expected_image_id):
        raise VerificationError(f"image id {claim.image_id.hex()} is not the expected {bytes(expected_image_id).hex()}")
    if claim.cycles >= MAX_RUN_CYCLES:
        raise VerificationError(f"a receipt covers fewer than {MAX_RUN_CYCLES} cycles")
    if rec.input_read > len(claim.input):
        raise VerificationError("the receipt says more input was read than the claim holds")
    items = receipt_proofs(rec, keys)
    seed = SG.shared_seed(claim, [it.binding for it in items])
    segments = [it for it in items if it.segment]
    cycles = [segment_cycles(it) for it in segments]
    if sum(cycles) != claim.cycles:
        raise VerificationError("the segments' cycles do not add up to the claim's")
    statements = [stark.verify(it.vk, it.proof, {}, logup_seed=seed) for it in items if not it.segment]
    offset = 0
    for it, c in zip(segments, cycles):
        want = expected_publics(claim, rec.input_read, index=it.segment, cycles=c, final=it.segment == len(segments),
                                clk_offset=offset)
        statements.append(stark.verify(it.vk, it.proof, want, logup_seed=seed))
        offset += c
    totals = {bus: np.zeros(4, np.uint32) for bus in SG.SEGMENT_OPEN}
    for st in statements:
        for bus, v in st.open_bus_sums.items():
            totals[bus] = F.ext_add(totals[bus], np.asarray(v, np.uint32))
    if np.any(totals[M.BUS_GMEM]):
        raise VerificationError("the segments' memory does not join up (global memory bus out of balance)")
    if np.any(totals[S.BUS_PRIVATE]):
        raise VerificationError("the segments' private reads are not one private input (private bus out of balance)")
    system = segments[0].vk.system
    want = S.expected_open_sums(claim.input, claim.journal, rec.input_read, statements[-1].logup_challenges,
                                {b: system.bus_id(b) for b in (BUS_INPUT, BUS_JOURNAL)})
    for bus, label in ((BUS_INPUT, "public input"), (BUS_JOURNAL, "journal")):
        if not np.array_equal(totals[bus], want[bus]):
            raise VerificationError(f"the proofs' {label} bytes differ from the claim's")
    return claim


# ----------------------------------------------------------------------------- prover
Progress = Callable[[str, int, int], None]


def prove_segmented(elf: bytes, public_input: bytes = b"", private_input: bytes = b"", *,
                    params: FriParams = DEFAULT, segment_log: int = SG.DEFAULT_SEGMENT_LOG,
                    max_cycles: int = 1 << 32, runner: SG.SegmentRunner | None = None,
                    progress: Progress | None = None, join_single_segment: bool = True) -> SegmentedReceipt:
    """Prove ``elf`` on the inputs in segments of ``2^segment_log`` cycles on ``runner``
    (default: a local process pool). ``progress(stage, done, total)`` reports "setup",
    "execute", "commit" and "prove" (per segment), "memory" and "encode"; a one-segment
    run is proven joined, in one task, unless ``join_single_segment`` is False (then the
    split layout, as for longer runs)."""
    report = progress or (lambda stage, done, total: None)
    if len(public_input) > MAX_IO_BYTES:
        raise SG.NotProvableError(f"public input of {len(public_input)} bytes exceeds the limit of {MAX_IO_BYTES}")
    elf = bytes(elf)
    report("setup", 0, 1)
    key = SG.segment_keys(elf, params)
    report("execute", 0, 1)
    run = SG.plan_segments(key, public_input, private_input, min(1 << segment_log, SG.MAX_SEGMENT_CYCLES),
                           min(max_cycles, MAX_RUN_CYCLES - 1))
    claim = Claim(key.image_id, bytes(public_input), bytes(run.result.journal), run.result.exit_code,
                  run.result.cycles)
    own_runner = runner is None
    runner = runner or SG.LocalRunner()
    try:
        if join_single_segment and len(run.segments) == 1:
            return _prove_joined(key, elf, public_input, private_input, params, run, claim, runner, report)
        return _prove_with(key, elf, public_input, private_input, params, run, claim, runner, report)
    finally:
        if own_runner:
            runner.close()  # type: ignore[union-attr]


def _key_refs(key: SG.SegmentKeys) -> tuple[KeyRef, KeyRef, KeyRef]:
    return tuple(KeyRef(pk.vk.pre_root, pk.vk.pre_log_heights)  # type: ignore[return-value]
                 for pk in (key.image_pk, key.segment_pk, key.joined_pk))


def _input_read(run: SG.RunPlan) -> int:
    return int(run.syscalls.publics[S.PUBLICS.index("input_read")])


def _prove_joined(key: SG.SegmentKeys, elf: bytes, public_input: bytes, private_input: bytes, params: FriParams,
                  run: SG.RunPlan, claim: Claim, runner: SG.SegmentRunner, report: Progress) -> SegmentedReceipt:
    """A one-segment run: one "joined" task proves the segment and the memory in one proof
    (no blinds: its only open buses, input and journal, carry public bytes)."""
    blinds = {bus: np.zeros(4, np.uint32) for bus in (BUS_INPUT, BUS_JOURNAL)}
    job = SG.SegmentJob(elf, bytes(public_input), bytes(private_input), params.name, run.segments[0], blinds,
                        os.urandom(32))
    report("commit", 0, 1)                  # the task commits and proves: both stages at once
    report("prove", 0, 1)
    (proof,) = runner.map("joined", [job.encode()], lambda i: report("prove", 1, 1))
    report("encode", 0, 1)
    return SegmentedReceipt(claim, params.name, _input_read(run), *_key_refs(key), b"", (proof,), joined=True)


def _prove_with(key: SG.SegmentKeys, elf: bytes, public_input: bytes, private_input: bytes, params: FriParams,
                run: SG.RunPlan, claim: Claim, runner: SG.SegmentRunner, report: Progress) -> SegmentedReceipt:
    plans = run.segments
    n = len(plans)
    # blinds summing to zero per bus: over the memory proof (index 0) and the segments
    # for the buses they share, over the segments for input/journal
    blinds = {bus: SG.zero_sum_blinds(n + 1) for bus in SG.MEMORY_OPEN}
    blinds.update({bus: [np.zeros(4, np.uint32), *SG.zero_sum_blinds(n)] for bus in (BUS_INPUT, BUS_JOURNAL)})
    mem_blinds = {bus: blinds[bus][0] for bus in SG.MEMORY_OPEN}
    jobs = [SG.SegmentJob(elf, bytes(public_input), bytes(private_input), params.name, plan,
                          {bus: v[i + 1] for bus, v in blinds.items()}, os.urandom(32))
            for i, plan in enumerate(plans)]
    done = {"commit": 0, "prove": 0}

    def tick(stage: str) -> Callable[[int], None]:
        def on_done(i: int) -> None:
            done[stage] += 1
            report(stage, done[stage], n)
        return on_done

    report("commit", 0, n)
    commits = []
    for raw in runner.map("commit", [j.encode() for j in jobs], tick("commit")):
        meta, arrays = SG.unpack(raw)
        commits.append((bytes.fromhex(meta["binding"]), arrays["keys"].astype(np.int64),
                        arrays["final"].astype(np.int64)))
    report("memory", 0, 1)
    mem_traces = SG.memory_proof_witness(key, run, [(k, f) for _, k, f in commits])
    # round 1 of the memory proof, kept: its proof goes on from here once the seed is known
    mem_round1 = stark.commit_main(key.image_pk, mem_traces, {}, rng=KeyedRandom(os.urandom(32)),
                                   open_totals=mem_blinds)
    del mem_traces
    seed = SG.shared_seed(claim, [mem_round1.binding] + [b for b, _, _ in commits])
    for job, (binding, _, _) in zip(jobs, commits):
        job.seed, job.binding = seed, binding
    report("prove", 0, n)
    # The memory proof is finished here while the segments are proven elsewhere: the
    # coordinator only waits for results meanwhile.
    with ThreadPoolExecutor(1) as pool:
        mem_future = pool.submit(stark.prove_committed, key.image_pk, mem_round1, logup_seed=lambda b: seed)
        del mem_round1
        seg_proofs = runner.map("prove", [j.encode() for j in jobs], tick("prove"))
        mem_proof = mem_future.result()
    report("encode", 0, 1)
    mem_bytes = stark_bytes.encode(mem_proof, key.image_pk.vk.digest, True)
    return SegmentedReceipt(claim, params.name, _input_read(run), *_key_refs(key), mem_bytes, tuple(seg_proofs))
