"""Segmented proving: a run cut into segments proven in parallel, joined by a shared
memory argument (docs/segments.md).

A receipt of N >= 2 segments holds N + 1 STARK proofs under two verifying keys:

* segment ``s`` (1..N, :func:`machine.segment_tables`): ``segment_cycles`` cycles of the
  run (the last one fewer), its own offline memory argument, and on the open ``gmem``
  bus the cells it lists: it receives ``(key, value at its start, prev_seg)`` and sends
  ``(key, value at its end, s)``; its pc enters and leaves through the PC/NPC cells;
* the memory proof (:func:`machine.image_tables`): the initial image and one row per
  cell of the run, sending ``(key, initial value, 0)`` and receiving ``(key, final,
  last segment)``; and the run's private input.

The protocol, so that segments are committed and finished in parallel:

1. the coordinator executes the run once (the fast VM with tracing, hundreds of MHz) and
   plans the segments: where each starts and which cells it lists (every register cell,
   the memory words its loads and stores name, the words its system calls touch) with,
   per cell, the last earlier segment that listed it;
2. "commit": every segment (any process, any machine: :func:`run_task`) replays the run
   to its start, builds its witness and commits its main traces; it returns its
   :func:`prover.stark.proof_binding` and its cells' final values;
3. the coordinator builds and commits the memory proof, then draws the shared seed from
   the claim and every binding;
4. "prove": every segment rebuilds the same commitment (the same masks, from a secret
   per-segment key) and finishes its proof under the shared LogUp challenges.

The run's private input is one table in the memory proof; segments read it over the open
``private`` bus. The open buses (``gmem``, ``private``, ``input``, ``journal``) carry
blinds that sum to zero over the proofs, so a proof's totals reveal nothing; the verifier
checks that ``gmem`` and ``private`` sum to zero and ``input``/``journal`` to the claim's
bytes.

A run of one segment is *joined*: one proof under a third key (:func:`machine.build_tables`:
the segment's tables and the memory proof's in one system, ``gmem`` and ``private`` closed
inside it), made by one ``"joined"`` task (:func:`run_task`). It is the same statement with one
proof's fixed costs instead of two: an on-chain verifier pays about a quarter less
(docs/onchain-verifier.md). The image id covers all three keys, so either form of a
program's receipt claims the same id.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Callable, Protocol, Sequence

import numpy as np

from prover import field, stark
from prover import proof as stark_bytes
from prover.air import Table
from prover.keccak import keccak256
from prover.randomness import KeyedRandom
from prover.security import DEFAULT, PRESETS, FriParams
from prover.zkmips import machine as MC
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips import syscall as S
from prover.zkmips import witness as W
from prover.zkmips.claim import Claim
from prover.zkmips.heights import check_preset
from prover.zkmips.keys import KeyCache
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL, REGISTER_KEY_BASE, TS_PER_CYCLE
from vm.elf import Program
from vm.errors import CycleLimitExceeded
from vm.executor import Executor
from prover.zkmips.syscall.cells import K_BRK_HWM
from vm.executor import TRACE_COLUMNS
from vm.layout import NPC, NUM_REGS, PAGE_BITS, PC, WORDS_PER_PAGE
from vm.syscall_log import SyscallLog
from vm.tracer import iter_trace

IMAGE_ID_DOMAIN = b"zkmips-image-v4"
SEED_DOMAIN = b"zkmips-receipt-seed-v1"
#: A segment's cycles: the Boundary table writes the end state at 8 (cycles + 1), which
#: must stay within 2^24 of its start reads (memory.MAX_TS_GAP).
MAX_SEGMENT_CYCLES = (1 << 21) - 2
#: Default segment size (log2 cycles): measured on this 2-core machine (bench/prove.py).
DEFAULT_SEGMENT_LOG = 18
#: The register-space cells every segment lists: the state vector and the kernel cells.
REGISTER_KEYS = REGISTER_KEY_BASE + np.arange(K_BRK_HWM + 1, dtype=np.int64)
#: Open buses the memory proof shares with the segments (balanced over a receipt).
MEMORY_OPEN = tuple(MC.SPLIT_BUSES)
#: Open buses of a segment, blinded per proof.
SEGMENT_OPEN = (*MEMORY_OPEN, BUS_INPUT, BUS_JOURNAL)


class NotProvableError(ValueError):
    """The run cannot be proven; ``str(e)`` is one line that says which and where."""


# ----------------------------------------------------------------------------- keys
def image_id_of(segment_digest: bytes, image_digest: bytes, joined_digest: bytes) -> bytes:
    """The program's id: its three verifying keys (the code, the initial state with the
    entry pc as the image's PC cell, and both in the joined key of one-segment runs)."""
    return keccak256(IMAGE_ID_DOMAIN + segment_digest + image_digest + joined_digest)


@dataclass
class SegmentKeys:
    """Everything derived once per program and preset."""

    program: Program
    params: FriParams
    program_rows: np.ndarray
    image: M.MemoryImage
    segment_tables: list[Table]
    segment_pk: stark.ProvingKey
    image_tables: list[Table]
    image_pk: stark.ProvingKey
    #: The joined key of a one-segment run: both systems' tables in one proof.
    joined_tables: list[Table]
    joined_pk: stark.ProvingKey

    @property
    def image_id(self) -> bytes:
        return image_id_of(self.segment_pk.vk.digest, self.image_pk.vk.digest, self.joined_pk.vk.digest)

    @classmethod
    def setup(cls, program: Program, params: FriParams) -> "SegmentKeys":
        check_preset(stark.min_hiding_rows(params), params.name)
        rows = P.program_rows(program)
        image = S.kernel_image(M.memory_image(program), program.end)
        seg = MC.segment_tables(rows)
        img = MC.image_tables(image)
        joined = MC.build_tables(rows, image)

        def setup(tables: list[Table]) -> stark.ProvingKey:
            return stark.setup(MC.build_system(tables), params, hiding=True)
        return cls(program, params, rows, image, seg, setup(seg), img, setup(img), joined, setup(joined))


_segment_keys: KeyCache[SegmentKeys] = KeyCache(SegmentKeys.setup)


def segment_keys(program: Program | bytes | str, params: FriParams = DEFAULT) -> SegmentKeys:
    """The keys of a program's segmented proofs (cached, :class:`keys.KeyCache`)."""
    return _segment_keys.get(program, params)


def image_id(program: Program | bytes | str, params: FriParams = DEFAULT) -> bytes:
    """The image id of a program's segmented receipts under ``params``."""
    return segment_keys(program, params).image_id


# ----------------------------------------------------------------------------- the plan
@dataclass
class SegmentPlan:
    index: int
    first_cycle: int
    cycles: int
    listed: np.ndarray
    prev_seg: np.ndarray


def _memory_keys(rows: np.ndarray, program_rows: np.ndarray) -> np.ndarray:
    """The RAM cells the loads and stores of ``rows`` access (the aligned word, and the
    next one for ldc1/sdc1): what the CPU's memory slots touch."""
    f = W.control_words(program_rows, rows[:, W.COL["pc"]])
    mem = f["is_mem"] == 1
    base = rows[mem, W.COL["mem_addr"]] >> 2
    dbl = f["is_dbl"][mem] == 1
    return np.unique(np.concatenate([base, base[dbl] + 1]))


@dataclass
class RunPlan:
    """A run cut into segments: the plans, the run's I/O, its result (``vm`` RunResult)
    and its system calls' witness (whole run)."""
    segments: list[SegmentPlan]
    io: MC.RunIO
    result: "object"
    syscalls: S.SyscallWitness


def plan_segments(key: SegmentKeys, public_input: bytes, private_input: bytes, segment_cycles: int,
                  max_cycles: int) -> RunPlan:
    """Run the program once and cut it: each segment's first cycle, length and listed
    cells with their previous listers."""
    if not 1 <= segment_cycles <= MAX_SEGMENT_CYCLES:
        raise ValueError(f"a segment has 1 to {MAX_SEGMENT_CYCLES} cycles, not {segment_cycles}")
    ex = Executor.for_program(key.program, public_input, private_input)
    log = SyscallLog.attach(ex)
    mem_keys: list[np.ndarray] = []
    lengths: list[int] = []
    try:
        for chunk in iter_trace(ex, segment_cycles, max_cycles):
            mem_keys.append(_memory_keys(chunk.rows, key.program_rows))
            lengths.append(int(chunk.rows.shape[0]))
    except CycleLimitExceeded as e:
        raise NotProvableError(str(e)) from None
    result = ex.result()
    run_io = MC.RunIO(log.records, bytes(public_input), bytes(private_input), key.program.end, result.journal)
    try:                                    # the system calls' cells, once for the whole run
        sys_wit = S.syscall_witness(run_io.records, run_io.public_input, run_io.private_input, run_io.program_end,
                                    run_io.journal)
    except ValueError as e:
        raise NotProvableError(str(e)) from None
    starts = np.cumsum([1] + lengths[:-1])
    sys_seg = np.searchsorted(starts, sys_wit.accesses["ts"] // TS_PER_CYCLE, side="right") - 1
    plans, first = [], 1
    seen_keys, seen_seg = np.zeros(0, np.int64), np.zeros(0, np.int64)
    for i, (keys, n) in enumerate(zip(mem_keys, lengths)):
        listed = np.union1d(np.union1d(REGISTER_KEYS, keys), sys_wit.accesses["key"][sys_seg == i])
        at = np.minimum(np.searchsorted(seen_keys, listed), max(seen_keys.size - 1, 0))
        hit = (seen_keys[at] == listed) if seen_keys.size else np.zeros(listed.size, bool)
        prev = np.where(hit, seen_seg[at] if seen_seg.size else 0, 0)
        plans.append(SegmentPlan(i + 1, first, n, listed, prev))
        keep = ~np.isin(seen_keys, listed)
        seen_keys = np.concatenate([seen_keys[keep], listed])
        seen_seg = np.concatenate([seen_seg[keep], np.full(listed.size, i + 1, np.int64)])
        order = np.argsort(seen_keys, kind="stable")
        seen_keys, seen_seg = seen_keys[order], seen_seg[order]
        first += n
    if len(plans) >= M.MAX_SEGMENTS:
        raise NotProvableError(f"the run needs {len(plans)} segments; at most {M.MAX_SEGMENTS - 1} fit a receipt")
    return RunPlan(plans, run_io, result, sys_wit)


# ----------------------------------------------------------------------------- payloads
def pack(meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    return buf.getvalue()


def unpack(data: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(arrays.pop("meta").tobytes().decode()), arrays


def _bytes_array(b: bytes) -> np.ndarray:
    return np.frombuffer(bytes(b), np.uint8)


@dataclass
class SegmentJob:
    """What a worker needs to prove one segment (no trust is placed in it: a wrong job
    gives a proof the verifier rejects)."""

    elf: bytes
    public_input: bytes
    private_input: bytes
    preset: str
    plan: SegmentPlan
    blinds: dict[str, np.ndarray]
    rng_key: bytes
    seed: bytes | None = None
    binding: bytes | None = None

    def encode(self) -> bytes:
        p = self.plan
        meta = {"preset": self.preset, "index": p.index, "first_cycle": p.first_cycle, "cycles": p.cycles,
                "rng_key": self.rng_key.hex(), "seed": self.seed.hex() if self.seed else None,
                "binding": self.binding.hex() if self.binding else None}
        arrays = {"elf": _bytes_array(self.elf), "public": _bytes_array(self.public_input),
                  "private": _bytes_array(self.private_input), "listed": p.listed, "prev_seg": p.prev_seg,
                  **{f"blind_{k}": v for k, v in self.blinds.items()}}
        return pack(meta, arrays)

    @classmethod
    def decode(cls, data: bytes) -> "SegmentJob":
        meta, a = unpack(data)
        plan = SegmentPlan(int(meta["index"]), int(meta["first_cycle"]), int(meta["cycles"]),
                           a["listed"].astype(np.int64), a["prev_seg"].astype(np.int64))
        blinds = {k[len("blind_"):]: v.astype(np.uint32) for k, v in a.items() if k.startswith("blind_")}
        return cls(a["elf"].tobytes(), a["public"].tobytes(), a["private"].tobytes(), meta["preset"], plan, blinds,
                   bytes.fromhex(meta["rng_key"]), bytes.fromhex(meta["seed"]) if meta["seed"] else None,
                   bytes.fromhex(meta["binding"]) if meta["binding"] else None)


# ----------------------------------------------------------------------------- one segment
def _start_values(ex: Executor, keys: np.ndarray, kernel: dict[int, int]) -> np.ndarray:
    """The values of ``keys`` in the executor's state (RAM words, state-vector registers)
    and in the kernel cells ``kernel``."""
    out = np.zeros(keys.size, np.int64)
    ram = keys < REGISTER_KEY_BASE
    words = keys[ram]
    page = words >> (PAGE_BITS - 2)
    slot = ex.memory.ptab[page]
    mapped = slot >= 0
    vals = np.zeros(words.size, np.int64)
    vals[mapped] = ex.memory.pages[slot[mapped], words[mapped] & (WORDS_PER_PAGE - 1)]
    out[ram] = vals
    reg = ~ram
    idx = keys[reg] - REGISTER_KEY_BASE
    regs = np.asarray(ex.regs, np.int64) & 0xFFFFFFFF
    out[reg] = np.where(idx < NUM_REGS, regs[np.minimum(idx, NUM_REGS - 1)],
                        [kernel.get(int(k), 0) for k in keys[reg]])
    return out


def segment_witness(key: SegmentKeys, job: SegmentJob) -> tuple[dict[str, np.ndarray], dict[str, list[int]],
                                                              MC.ExecutionWitness]:
    """Replay the run, trace the segment, build every trace of its proof."""
    wit, _ = _segment_execution(key, job)
    traces = MC.with_lookups(key.segment_tables, MC.fri_padded(key.segment_pk.vk, wit.traces), wit.publics)
    return traces, wit.publics, wit


def joined_witness(key: SegmentKeys, job: SegmentJob) -> tuple[dict[str, np.ndarray], dict[str, list[int]], Claim]:
    """Every trace of a one-segment run's joined proof (the segment's tables and the
    memory proof's, the lookup tables counting both) and the run's claim."""
    if job.plan.index != 1 or job.plan.first_cycle != 1 or np.any(job.plan.prev_seg):
        raise ValueError("a joined proof covers a whole run: one segment, from the first cycle")
    wit, result = _segment_execution(key, job)
    if result.cycles != job.plan.cycles:
        raise ValueError(f"the run goes on after the segment's {job.plan.cycles} cycles (not a one-segment run)")
    memory = global_memory_traces(key, [job.plan], [(wit.cells["key"], wit.cells["final"])], wit.syscalls)
    traces = MC.with_lookups(key.joined_tables, MC.fri_padded(key.joined_pk.vk, {**wit.traces, **memory}), wit.publics)
    claim = Claim(key.image_id, job.public_input, bytes(result.journal), result.exit_code, result.cycles)
    return traces, wit.publics, claim


def _segment_execution(key: SegmentKeys, job: SegmentJob) -> tuple[MC.ExecutionWitness, "object"]:
    """Replay the run to the segment, trace it, run on to the end: the segment's traces
    (without the lookup tables' multiplicities) and the run's result (``vm`` RunResult)."""
    p = job.plan
    ex = Executor.for_program(key.program, job.public_input, job.private_input)
    log = SyscallLog.attach(ex)
    if ex.run(p.first_cycle - 1) != p.first_cycle - 1:
        raise ValueError(f"segment {p.index}: the run ends before cycle {p.first_cycle}")
    values = _start_values(ex, p.listed, {})           # the kernel cells come from the witness below
    buf = np.empty((p.cycles, len(TRACE_COLUMNS)), np.int64)
    if ex.run(p.cycles, trace=buf) != p.cycles:
        raise ValueError(f"segment {p.index}: the run ends before its {p.cycles} cycles")
    end = None if ex.halted else (int(ex.regs[PC]), int(ex.regs[NPC]))
    while not ex.halted:
        ex.run(1 << 24)
    result = ex.result()
    run_io = MC.RunIO(log.records, job.public_input, job.private_input, key.program.end, result.journal)
    sys_start = S.syscall_witness(run_io.records, run_io.public_input, run_io.private_input, run_io.program_end,
                                  run_io.journal, first_cycle=p.first_cycle, last_cycle=p.first_cycle + p.cycles - 1)
    kernel = np.isin(p.listed, list(sys_start.kernel_start))
    values[kernel] = [sys_start.kernel_start[int(k)] for k in p.listed[kernel]]
    nz = values != 0
    spec = MC.SegmentSpec(p.index, p.first_cycle, p.listed, p.prev_seg, M.MemoryImage(p.listed[nz], values[nz]), end)
    return MC.segment_witness(buf, key.program_rows, run_io, spec), result


def _rng(job: SegmentJob) -> KeyedRandom:
    return KeyedRandom(job.rng_key)


#: The round 1 that the last "commit" task of this process kept for its "prove" task (one
#: slot, by the job's round-1 identity): only where :func:`run_task` is asked to keep it.
_kept_round1: dict[bytes, stark.MainCommitment] = {}


def _round1_identity(job: SegmentJob) -> bytes:
    """What round 1 depends on: the job without the seed and binding that round 2 adds."""
    return keccak256(replace(job, seed=None, binding=None).encode())


def drop_kept_round1() -> None:
    """Free a kept round 1 (a proof given up between its phases leaves one behind)."""
    _kept_round1.clear()


def _commit_round1(key: SegmentKeys, job: SegmentJob) -> tuple[stark.MainCommitment, MC.ExecutionWitness]:
    traces, publics, wit = segment_witness(key, job)
    return stark.commit_main(key.segment_pk, traces, publics, rng=_rng(job), open_totals=job.blinds), wit


def run_task(phase: str, payload: bytes, keep_round1: bool = False) -> bytes:
    """The unit of work for one segment (any process, any machine; pure, so a retry is
    safe): ``"commit"`` returns the binding and the listed cells' final values,
    ``"prove"`` the segment's proof bytes, ``"joined"`` the joined proof of a one-segment
    run (both rounds in one task: nothing waits on other proofs' bindings).

    With ``keep_round1`` (a runner that proves its segments in its own process, where
    commit and prove of a one-segment run follow each other) the commit task keeps its
    round 1 and the prove task of the same job goes on from it: the witness and the main
    commitment are not made twice (about a fifth of a one-segment proof). Without it, or
    when the kept one is another job's, the prove task rebuilds round 1 from the job, which
    the binding check proves identical."""
    job = SegmentJob.decode(payload)
    params = PRESETS[job.preset]
    key = segment_keys(job.elf, params)
    if phase == "joined":
        drop_kept_round1()
        traces, publics, claim = joined_witness(key, job)
        round1 = stark.commit_main(key.joined_pk, traces, publics, rng=_rng(job), open_totals=job.blinds)
        del traces
        seed = shared_seed(claim, [round1.binding])
        proof = stark.prove_committed(key.joined_pk, round1, logup_seed=lambda binding: seed)
        vk = key.joined_pk.vk
        return stark_bytes.encode(proof, vk.digest, vk.hiding)
    if phase == "commit":
        drop_kept_round1()
        round1, wit = _commit_round1(key, job)
        if keep_round1:
            _kept_round1[_round1_identity(job)] = round1
        return pack({"binding": round1.binding.hex()}, {"keys": wit.cells["key"], "final": wit.cells["final"]})
    if phase == "prove":
        if job.seed is None or job.binding is None:
            raise ValueError("a prove task needs the shared seed and its binding")
        round1 = _kept_round1.pop(_round1_identity(job), None)
        drop_kept_round1()   # another job's: never held while this one is proven
        if round1 is None:
            round1, _ = _commit_round1(key, job)

        def hand_out(binding: bytes) -> bytes:
            if binding != job.binding:
                raise ValueError(f"segment {job.plan.index}: the commitment differs from round 1 (not reproducible)")
            return job.seed

        proof = stark.prove_committed(key.segment_pk, round1, logup_seed=hand_out)
        vk = key.segment_pk.vk
        return stark_bytes.encode(proof, vk.digest, vk.hiding)
    raise ValueError(f"unknown segment phase {phase!r}")


# ----------------------------------------------------------------------------- runners
class SegmentRunner(Protocol):
    def map(self, phase: str, payloads: Sequence[bytes],
            on_done: Callable[[int], None] | None = None) -> list[bytes]: ...


#: Cores one proof's numba threads use well: on a 2-core machine one process with two
#: threads beats two single-threaded processes on short runs (11.3k vs 10.4k cycles/s)
#: and needs half the memory (4.7 GB vs 9.5 GB), bench/prove.py.
CORES_PER_PROCESS = 2


def default_processes() -> int:
    """Local segment processes when none are asked for: one per CORES_PER_PROCESS cores."""
    return max(1, (os.cpu_count() or 1) // CORES_PER_PROCESS)


def threads_per_process(processes: int) -> int:
    """numba threads for each of ``processes`` provers sharing this machine's cores:
    provers with more threads than their share fight over the cores (two 2-thread
    processes on two cores took 1.5x as long as two 1-thread ones, profiled)."""
    return max(1, (os.cpu_count() or 1) // max(1, processes))


def use_threads(threads: int) -> None:
    """Cap this process's numba threads (at most the count numba started with)."""
    import numba
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def _pool_process_init(threads: int, parent: int) -> None:
    """A pool process: its share of the cores, and an exit when the coordinator dies
    (killed, it cannot shut the pool down, and idle pool processes would otherwise live
    on holding a program's keys)."""
    use_threads(threads)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class LocalRunner:
    """Segments on a pool of local processes (default :func:`default_processes`;
    ``processes=1``: in this process). The pool lives across ``map`` calls (commit,
    then prove), so each process sets up a program's keys once; :meth:`close` ends it. Each pool process gets its share of the
    cores as numba threads (:func:`threads_per_process`)."""

    def __init__(self, processes: int | None = None):
        self.processes = max(1, processes or default_processes())
        self._pool: ProcessPoolExecutor | None = None

    def map(self, phase: str, payloads: Sequence[bytes], on_done: Callable[[int], None] | None = None) -> list[bytes]:
        done = on_done or (lambda i: None)
        if self.processes == 1:
            out = []
            for i, p in enumerate(payloads):
                out.append(run_task(phase, p, keep_round1=len(payloads) == 1))
                done(i)
            return out
        if self._pool is None:
            # spawn, not fork: a forked child would inherit numba's worker threads mid-state
            self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_pool_process_init,
                                             initargs=(threads_per_process(self.processes), os.getpid()))
        results: list[bytes | None] = [None] * len(payloads)
        futures = {self._pool.submit(run_task, phase, p): i for i, p in enumerate(payloads)}
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                done(i)
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return results  # type: ignore[return-value]

    def close(self) -> None:
        drop_kept_round1()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def __enter__(self) -> "LocalRunner":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------- blinds, seed
def zero_sum_blinds(count: int) -> list[np.ndarray]:
    """``count`` uniform extension elements summing to zero (OS randomness)."""
    vals = [stark.random_field(None, (4,)) for _ in range(count - 1)]
    last = np.zeros(4, np.uint32)
    for v in vals:
        last = field.ext_sub(last, v)
    return [*vals, last]


def shared_seed(claim: Claim, bindings: Sequence[bytes]) -> bytes:
    """The seed of every proof's LogUp challenges: the claim and every proof's binding
    (the memory proof's first), so no challenge precedes any commitment."""
    head = SEED_DOMAIN + claim.image_id + claim.input_digest + keccak256(claim.journal)
    head += bytes([claim.exit_code]) + claim.cycles.to_bytes(8, "little") + len(bindings).to_bytes(4, "little")
    return keccak256(head + b"".join(bindings))


def memory_proof_witness(key: SegmentKeys, run: RunPlan, commits: Sequence[tuple[np.ndarray, np.ndarray]]
                         ) -> dict[str, np.ndarray]:
    """The memory proof's traces, its Range16 multiplicities included."""
    traces = global_memory_traces(key, run.segments, commits, run.syscalls)
    return MC.with_lookups(key.image_tables, MC.fri_padded(key.image_pk.vk, traces), {})


def global_memory_traces(key: SegmentKeys, plans: Sequence[SegmentPlan],
                         commits: Sequence[tuple[np.ndarray, np.ndarray]], syscalls: S.SyscallWitness
                         ) -> dict[str, np.ndarray]:
    """The Image, MemoryGlobal and PrivateInput traces: every cell of the image or of a
    segment, its final value (from the last segment listing it, ``commits``) and that
    segment's number; the run's private input with every segment's reads (``syscalls``,
    the whole run's)."""
    keys = key.image.keys
    final_seg = np.zeros(keys.size, np.int64)
    _, final = key.image.lookup(keys)
    for plan, (ck, cf) in zip(plans, commits):
        if not np.array_equal(ck, plan.listed):
            raise ValueError(f"segment {plan.index}: its cells differ from the plan")
        merged = np.union1d(keys, ck)
        at_old = np.searchsorted(merged, keys)
        new_final = np.zeros(merged.size, np.int64)
        new_seg = np.zeros(merged.size, np.int64)
        new_final[at_old], new_seg[at_old] = final, final_seg
        at_new = np.searchsorted(merged, ck)
        new_final[at_new], new_seg[at_new] = cf, plan.index
        keys, final, final_seg = merged, new_final, new_seg
    return {M.IMAGE_TABLE: M.image_trace(key.image),
            M.GLOBAL_MEMORY_TABLE: M.global_memory_trace(keys, key.image, final, final_seg),
            S.PRIVATE_TABLE: S.private_input_trace(syscalls)}
