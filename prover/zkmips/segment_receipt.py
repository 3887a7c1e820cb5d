"""Segmented receipts: a claim, the memory proof and every segment's proof.

Byte format (docs/receipt-format.md, "Segmented receipts")::

    "ZKMS" | u16 version | u16 flags (0)
    claim:    image_id[32] | input_digest[32] | blob input | blob journal | u8 exit_code | u64 cycles
    keys:     blob preset name | u32 input_read
              memory key:  pre_root[32] | u16 tables, u8 log-height each (0: none)
              segment key: pre_root[32] | u16 tables, u8 log-height each
    proofs:   blob memory proof | u32 N | N x blob segment proof   (docs/proof-format.md)

:func:`verify_segmented` needs the receipt only and never runs the program: it rebuilds
both verifying keys, checks the image id, recomputes the shared seed from the claim and
every proof's binding, verifies each proof under it with the public values the claim
and the segment's position imply, and checks the open buses: ``gmem`` sums to zero over
all proofs (the segments join up, and the first/last join the image and the final
memory), ``input``/``journal`` to the claim's bytes.
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
from prover.randomness import KeyedRandom
from prover.security import DEFAULT, FriParams
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
VERSION = 1
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
    claim: Claim
    preset: str
    input_read: int
    memory_key: KeyRef
    segment_key: KeyRef
    memory_proof: bytes
    segment_proofs: tuple[bytes, ...] = field(default_factory=tuple)

    def encode(self) -> bytes:
        w = write_head(MAGIC, VERSION, self.claim)
        w.blob(self.preset.encode())
        w.u32(self.input_read)
        for ref in (self.memory_key, self.segment_key):
            write_key(w, ref.pre_root, ref.pre_log_heights)
        w.blob(self.memory_proof)
        w.u32(len(self.segment_proofs))
        for p in self.segment_proofs:
            w.blob(p)
        return b"".join(w.parts)

    @property
    def proof_shape(self) -> dict:
        """The proofs' shape without verifying them (for ``zkmips inspect``): the tables
        of the first segment (every segment has the same ones)."""
        return {"preset": self.preset, "segments": len(self.segment_proofs),
                "memory_proof_bytes": len(self.memory_proof),
                "segment_proof_bytes": [len(p) for p in self.segment_proofs],
                **table_shapes(self.segment_proofs[0], segment_verifier_system())}


def decode(data: bytes) -> SegmentedReceipt:
    """Parse (no verification); raises VerificationError on malformed bytes."""
    try:
        r = receipt_reader(data, MAX_RECEIPT_BYTES)
        claim = read_head(r, MAGIC, VERSION, "segmented zkMIPS receipt")
        preset = r.blob().decode("ascii")
        input_read = r.u32()
        refs = [KeyRef(*read_key(r)) for _ in range(2)]
        memory_proof = r.blob()
        n = r.u32()
        if not 1 <= n <= MAX_SEGMENT_PROOFS:
            raise VerificationError(f"a receipt holds 1 to {MAX_SEGMENT_PROOFS} segments, not {n}")
        proofs = tuple(r.blob() for _ in range(n))
        r.done()
    except (ValueError, UnicodeDecodeError, struct.error) as e:
        raise VerificationError(f"malformed receipt ({e})") from None
    return SegmentedReceipt(claim, preset, input_read, refs[0], refs[1], memory_proof, proofs)


# ----------------------------------------------------------------------------- verifier keys
@lru_cache(maxsize=1)
def segment_verifier_system() -> System:
    return MC.build_system(MC.segment_tables(np.zeros((2, len(P.FIELDS)), np.uint32)))


@lru_cache(maxsize=1)
def memory_verifier_system() -> System:
    return MC.build_system(MC.image_tables(M.MemoryImage(np.zeros(0), np.zeros(0))))


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


def verify_segmented(data: bytes, expected_image_id: bytes | None = None, *, allow_insecure: bool = False) -> Claim:
    """The claim of a valid segmented receipt; raises VerificationError otherwise."""
    rec = decode(data)
    claim = rec.claim
    params = params_of(rec.preset, allow_insecure)
    mem_vk = _vk(memory_verifier_system(), params, rec.memory_key, "memory")
    seg_vk = _vk(segment_verifier_system(), params, rec.segment_key, "segment")
    if SG.image_id_of(seg_vk.digest, mem_vk.digest) != claim.image_id:
        raise VerificationError("the image id does not match the receipt's verifying keys")
    if expected_image_id is not None and claim.image_id != bytes(expected_image_id):
        raise VerificationError(f"image id {claim.image_id.hex()} is not the expected {bytes(expected_image_id).hex()}")
    if claim.cycles >= MAX_RUN_CYCLES:
        raise VerificationError(f"a receipt covers fewer than {MAX_RUN_CYCLES} cycles")
    if rec.input_read > len(claim.input):
        raise VerificationError("the receipt says more input was read than the claim holds")
    mem_proof = _decode_proof(rec.memory_proof, mem_vk, "the memory proof")
    seg_proofs = [_decode_proof(p, seg_vk, f"segment {i + 1}") for i, p in enumerate(rec.segment_proofs)]
    seed = SG.shared_seed(claim, [_binding(mem_vk, mem_proof)] + [_binding(seg_vk, p) for p in seg_proofs])
    cpu_at = [t.name for t in seg_vk.system.tables].index(MC.C.TABLE_NAME)
    cycles = []
    for i, p in enumerate(seg_proofs):
        c = p.publics[cpu_at][0] if len(p.publics) > cpu_at and len(p.publics[cpu_at]) == 1 else -1
        if not (isinstance(c, int) and 1 <= c <= SG.MAX_SEGMENT_CYCLES):
            raise VerificationError(f"segment {i + 1}: bad cycle count")
        cycles.append(c)
    if sum(cycles) != claim.cycles:
        raise VerificationError("the segments' cycles do not add up to the claim's")
    statements = [stark.verify(mem_vk, mem_proof, {}, logup_seed=seed)]
    offset = 0
    for i, (p, c) in enumerate(zip(seg_proofs, cycles)):
        want = expected_publics(claim, rec.input_read, index=i + 1, cycles=c, final=i + 1 == len(seg_proofs),
                                clk_offset=offset)
        statements.append(stark.verify(seg_vk, p, want, logup_seed=seed))
        offset += c
    totals = {bus: np.zeros(4, np.uint32) for bus in SG.SEGMENT_OPEN}
    for st in statements:
        for bus, v in st.open_bus_sums.items():
            totals[bus] = F.ext_add(totals[bus], np.asarray(v, np.uint32))
    if np.any(totals[M.BUS_GMEM]):
        raise VerificationError("the segments' memory does not join up (global memory bus out of balance)")
    if np.any(totals[S.BUS_PRIVATE]):
        raise VerificationError("the segments' private reads are not one private input (private bus out of balance)")
    system = seg_vk.system
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
                    progress: Progress | None = None) -> SegmentedReceipt:
    """Prove ``elf`` on the inputs in segments of ``2^segment_log`` cycles on ``runner``
    (default: a local process pool). ``progress(stage, done, total)`` reports "setup",
    "execute", "commit" and "prove" (per segment), "memory" and "encode"."""
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
        return _prove_with(key, elf, public_input, private_input, params, run, claim, runner, report)
    finally:
        if own_runner:
            runner.close()  # type: ignore[union-attr]


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
    mvk, svk = key.image_pk.vk, key.segment_pk.vk
    input_read = int(run.syscalls.publics[S.PUBLICS.index("input_read")])
    return SegmentedReceipt(claim, params.name, input_read, KeyRef(mvk.pre_root, mvk.pre_log_heights),
                            KeyRef(svk.pre_root, svk.pre_log_heights), stark_bytes.encode(mem_proof, mvk.digest, True),
                            tuple(seg_proofs))
