"""The zkMIPS machine: every table of one execution proof, and its witness from a VM run.

:func:`build_tables` lists the tables of a program's proof system (the Program and Image
tables depend on the program: they are its verifying key's preprocessed part);
:func:`execution_witness` turns a traced run into the traces of all of them, with the
lookup multiplicities counted from the finished traces (so they cannot disagree with the
AIR). docs/zkmips.md explains the design.

The system has two open buses, ``input`` and ``journal``: the Syscall tables send the
bytes a run read from its public input and wrote to its journal, and the verifier checks
their totals against the claim (:mod:`prover.zkmips.claim`). A segment's system also
leaves open the buses it shares with the receipt's memory proof (:data:`SPLIT_BUSES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from prover import stark
from prover.air import System, Table
from prover.zkmips import add_sub, bitmanip, bitwise, divrem, lookup, lt, mem_instr, mul, shift
from prover.zkmips import boundary as B
from prover.zkmips import syscall as S
from prover.zkmips import cpu as C
from prover.zkmips import heights as H
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips import witness as W
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL
from vm.isa import OP
from vm.syscall_log import SyscallRecord

#: The tables whose multiplicities are counted from the others' lookups.
LOOKUP_TABLES = (lookup.BYTE_TABLE, lookup.RANGE16_TABLE)
#: Buses balanced by the verifier against the claim, not inside the proof.
OPEN_BUSES = frozenset({BUS_INPUT, BUS_JOURNAL})
#: Buses between a segment and the memory proof, by the table on each side: open unless a
#: system holds both (a whole run in one proof); the verifier balances them over a receipt.
SPLIT_BUSES: dict[str, tuple[str, str]] = {M.BUS_GMEM: (M.MEMORY_TABLE, M.GLOBAL_MEMORY_TABLE),
                                           S.BUS_PRIVATE: (S.SYSCALL_TABLE, S.PRIVATE_TABLE)}

ALU_TABLES: dict[str, tuple[str, ...]] = {
    add_sub.TABLE_NAME: ("addu", "subu", "add", "sub"),
    bitwise.TABLE_NAME: ("and", "or", "xor", "nor"),
    lt.TABLE_NAME: ("slt", "sltu"),
    shift.TABLE_NAME: ("sll", "srl", "sra", "rotr"),
    bitmanip.TABLE_NAME: ("clz", "clo", "seb", "seh", "wsbh", "ext", "ins"),
}


@dataclass
class ExecutionWitness:
    """Traces by table name, the public values, and the memory history (for tests)."""
    traces: dict[str, np.ndarray]
    publics: dict[str, list[int]]
    memory: M.MemoryEvents
    cpu: W.CpuEvents
    sends: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    #: The segment's listed cells: key, final value (for the receipt's global memory table).
    cells: dict[str, np.ndarray] = field(default_factory=dict)
    #: The system calls' witness (of the whole run; its rows are the segment's calls).
    syscalls: S.SyscallWitness | None = None


def segment_tables(program_rows: np.ndarray) -> list[Table]:
    """The tables of one segment's proof: the CPU and everything it talks to, the
    segment's MemoryInit/Final (open on ``gmem``) and the lookup tables."""
    return [P.build_program_table(rows=program_rows), C.build_cpu(), add_sub.build_add_sub(),
            bitwise.build_bitwise(), lt.build_lt(), shift.build_shift(), bitmanip.build_bitmanip(),
            mul.build_mul(), divrem.build_divrem(), mem_instr.build_mem_instr(), B.build_boundary(),
            M.build_memory(), *S.syscall_tables(), lookup.build_byte(), lookup.build_range16()]


def image_tables(image: M.MemoryImage) -> list[Table]:
    """The tables of a receipt's memory proof: the initial image, the global
    MemoryInit/Final (open on ``gmem``), the run's private input (open on ``private``)
    and Range16 (their key-order and byte checks)."""
    return [M.build_image(image), M.build_global_memory(), S.build_private_input(), lookup.build_range16()]


def build_tables(program_rows: np.ndarray, image: M.MemoryImage) -> list[Table]:
    """All tables of a whole run proven in one proof (one segment and the memory proof
    in one system, ``gmem`` closed inside it). ``image`` must include the kernel cells
    (:func:`syscall.kernel_image`): the Image table fixes them like any other cell."""
    seg = segment_tables(program_rows)
    return seg[:-1] + image_tables(image)[:-1] + seg[-1:]


def build_system(tables: Sequence[Table]) -> System:
    """The proof system of ``tables``: each split bus is open unless both its sides are here."""
    names = {t.name for t in tables}
    split = {bus for bus, sides in SPLIT_BUSES.items() if not set(sides) <= names}
    return System(list(tables), open_buses=OPEN_BUSES | split)


def verifier_tables() -> list[Table]:
    """The tables with placeholder preprocessed data: a verifier needs their constraints
    and buses, which never depend on that data (the verifying key carries only its
    commitment and heights; :func:`prover.stark.verifying_key`)."""
    return build_tables(np.zeros((2, len(P.FIELDS)), np.uint32), M.MemoryImage(np.zeros(0), np.zeros(0)))


def _pick(events: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in events.items()}


@dataclass
class RunIO:
    """What a run exchanged with its kernel: the syscall records (``vm.syscall_log``), the
    inputs, and the journal the VM produced (cross-checked against the records)."""
    records: Sequence[SyscallRecord]
    public_input: bytes
    private_input: bytes
    program_end: int
    journal: bytes


@dataclass
class SegmentSpec:
    """Where a segment sits in its run: its number (1-based), its first cycle, the cells
    it lists with the last earlier segment listing each (``None``: exactly the cells
    its accesses touch, all first listed here: a whole run in one proof), its start
    state over those cells, and the pc/next pc after its last cycle."""
    index: int = 1
    first_cycle: int = 1
    listed: np.ndarray | None = None
    prev_seg: np.ndarray | None = None
    start: M.MemoryImage | None = None
    end_state: tuple[int, int] | None = None


def execution_witness(rows: np.ndarray, program_rows: np.ndarray, image: M.MemoryImage, io: RunIO, *,
                      check: bool = True) -> ExecutionWitness:
    """Traces of every table of :func:`build_tables` for the traced run ``rows`` (all
    cycles, from the start) whose system calls ``io`` describes. Raises ValueError, in
    one line, for a run that cannot be proven (an unsupported instruction or call)."""
    wit = segment_witness(rows, program_rows, io, SegmentSpec(start=image), check=check)
    keys = np.union1d(wit.cells["key"], image.keys)
    at = np.searchsorted(wit.cells["key"], keys)
    hit = (at < wit.cells["key"].size) & (wit.cells["key"][np.minimum(at, max(wit.cells["key"].size - 1, 0))] == keys)
    _, init = image.lookup(keys)
    final = np.where(hit, wit.cells["final"][np.minimum(at, max(wit.cells["key"].size - 1, 0))], init)
    wit.traces[M.IMAGE_TABLE] = M.image_trace(image)
    wit.traces[M.GLOBAL_MEMORY_TABLE] = M.global_memory_trace(keys, image, final, hit.astype(np.int64), check=check)
    wit.traces[S.PRIVATE_TABLE] = S.private_input_trace(wit.syscalls)
    return wit


def segment_end_state(rows: np.ndarray) -> tuple[int, int]:
    """The (pc, next pc) after the last row when it is the exit (the run stops there:
    the state its CPU row proves, ``next_pc`` and ``next_pc + 4``)."""
    last = int(rows[-1, W.COL["next_pc"]])
    return last, (last + 4) & 0xFFFFFFFF


def segment_witness(rows: np.ndarray, program_rows: np.ndarray, io: RunIO, spec: SegmentSpec, *,
                    check: bool = True) -> ExecutionWitness:
    """Traces of every table of :func:`segment_tables` for the segment ``spec`` of a run:
    ``rows`` its traced cycles, ``io`` the whole run's system calls."""
    last_cycle = spec.first_cycle + rows.shape[0] - 1
    sys_wit = S.syscall_witness(io.records, io.public_input, io.private_input, io.program_end, io.journal,
                                first_cycle=spec.first_cycle, last_cycle=last_cycle)
    cycles = int(rows.shape[0])
    start = (int(rows[0, W.COL["pc"]]), int(rows[0, W.COL["next_pc"]]))
    end = spec.end_state if spec.end_state is not None else segment_end_state(rows)
    bnd = B.boundary_accesses(start, end, cycles)
    n_sys = sys_wit.accesses["key"].size
    extra = {k: np.concatenate([sys_wit.accesses[k], bnd[k]]) for k in ("key", "ts", "value", "is_write")}
    image = spec.start if spec.start is not None else M.MemoryImage(np.zeros(0), np.zeros(0))

    def extra_traces(derived: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = S.syscall_traces(sys_wit, {k: v[:n_sys] for k, v in derived.items()})
        out[B.TABLE_NAME] = B.boundary_trace({k: v[n_sys:] for k, v in derived.items()}, cycles)
        return out

    wit = _witness(rows, program_rows, image, extra, extra_traces, {S.SYSCALL_TABLE: sys_wit.publics}, check)
    cells = _listed_cells(wit.memory.cells, spec, image)
    wit.traces[M.MEMORY_TABLE] = M.memory_trace(cells, check=check)
    wit.publics[M.MEMORY_TABLE] = [spec.index]
    cpu = wit.traces[C.TABLE_NAME]
    col = {n: i for i, n in enumerate(C.build_cpu().main_names)}
    cpu[0, col["is_first"]] = 1
    cpu[cycles - 1, col["is_last"]] = 1
    cpu[cycles - 1, col["end_pc"]], cpu[cycles - 1, col["end_npc"]] = end
    wit.cells = {"key": cells["key"], "final": cells["final"]}
    wit.syscalls = sys_wit
    return wit


def _listed_cells(cells: dict[str, np.ndarray], spec: SegmentSpec, image: M.MemoryImage) -> dict[str, np.ndarray]:
    """The segment's MemoryInit/Final rows: every listed cell (``spec.listed``, or the
    touched ones) with its start value, its final value and timestamp (the start ones for
    a cell no access touched) and ``prev_seg``."""
    touched = cells["final_ts"] > 0
    if spec.listed is None:
        keys = cells["key"][touched]
        prev = np.zeros(keys.size, np.int64)
    else:
        keys = np.asarray(spec.listed, np.int64)
        prev = np.asarray(spec.prev_seg, np.int64)
        missing = np.setdiff1d(cells["key"][touched], keys)
        if missing.size:
            raise ValueError(f"segment {spec.index}: cell {int(missing[0])} is accessed but not listed "
                             f"(the segment plan missed it)")
    _, init = image.lookup(keys)
    at = np.searchsorted(cells["key"], keys)
    ok = at < cells["key"].size
    at = np.minimum(at, max(cells["key"].size - 1, 0))
    hit = ok & (cells["key"][at] == keys) if cells["key"].size else np.zeros(keys.size, bool)
    final = np.where(hit, cells["final"][at], init) if cells["key"].size else init
    final_ts = np.where(hit, cells["final_ts"][at], 0) if cells["key"].size else np.zeros(keys.size, np.int64)
    return {"key": keys, "init": init, "final": final, "final_ts": final_ts, "prev_seg": prev}


def _witness(rows: np.ndarray, program_rows: np.ndarray, image: M.MemoryImage, extra_accesses: dict[str, np.ndarray],
             extra_traces: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]],
             extra_publics: dict[str, list[int]], check: bool) -> ExecutionWitness:
    """The CPU-side witness with the accesses ``extra_accesses`` of the other tables merged
    into the memory history; ``extra_traces`` builds those tables' traces from their
    accesses' derived witness (same order, with prev_value/prev_ts)."""
    ev = W.cpu_events(rows, program_rows, image=image, extra_accesses=extra_accesses)
    slots = W.cpu_accesses(ev)
    parts = [slots[s] for s, _ in C.SLOTS] + [extra_accesses]
    cat = {k: np.concatenate([p[k] for p in parts]) for k in ("key", "ts", "value", "is_write")}
    history = M.access_events(cat["key"], cat["ts"], cat["value"], cat["is_write"], image, check=check)
    prev: dict[str, dict[str, np.ndarray]] = {}
    at = 0
    for s, _ in C.SLOTS:
        n = slots[s]["row"].size
        prev[s] = {**slots[s], "prev_value": history.accesses["prev_value"][at: at + n],
                   "prev_ts": history.accesses["prev_ts"][at: at + n]}
        at += n
    cpu_trace = W.cpu_trace(ev, prev)
    sends = W.table_events(ev, prev)

    alu, hilo = sends["alu"], sends["hilo"]
    traces: dict[str, np.ndarray] = {"program": P.program_trace(program_rows, ev.fields["pc"]), C.TABLE_NAME: cpu_trace}
    by_table = {name: _pick(alu, np.isin(alu["op"], [OP[m] for m in ops])) for name, ops in ALU_TABLES.items()}
    by_table[shift.TABLE_NAME] = {k: np.concatenate([by_table[shift.TABLE_NAME][k], v])
                                  for k, v in bitmanip.bitmanip_shift_events(by_table[bitmanip.TABLE_NAME]).items()
                                  if k in by_table[shift.TABLE_NAME]}
    builders = {add_sub.TABLE_NAME: add_sub.add_sub_trace, bitwise.TABLE_NAME: bitwise.bitwise_trace,
                lt.TABLE_NAME: lt.lt_trace, shift.TABLE_NAME: shift.shift_trace,
                bitmanip.TABLE_NAME: bitmanip.bitmanip_trace}
    for name, build in builders.items():
        traces[name] = build(by_table[name])
    is_mul = alu["op"] == OP["mul"]
    is_div = np.isin(hilo["op"], (OP["div"], OP["divu"]))
    mul_alu = {"op": alu["op"][is_mul], "a": alu["a"][is_mul], "b": alu["b"][is_mul],
               "hi_in": np.zeros(int(is_mul.sum()), np.int64), "lo_in": np.zeros(int(is_mul.sum()), np.int64),
               "hi_out": np.zeros(int(is_mul.sum()), np.int64), "lo_out": alu["c"][is_mul]}
    traces[mul.TABLE_NAME] = mul.mul_trace({k: np.concatenate([mul_alu[k], hilo[k][~is_div]]) for k in mul_alu})
    traces[divrem.TABLE_NAME] = divrem.divrem_trace(_pick(hilo, is_div))
    traces[mem_instr.TABLE_NAME] = mem_instr.mem_instr_trace(sends["memop"], check=check)
    traces.update(extra_traces({k: v[at:] for k, v in history.accesses.items()}))
    publics = {C.TABLE_NAME: [int(rows.shape[0])], **extra_publics}
    return ExecutionWitness(traces, publics, history, ev, sends)


def fri_padded(vk: stark.VerifyingKey, traces: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``traces`` with the tables raised to :func:`heights.fri_friendly_heights` (fewer FRI
    layers: smaller proofs, cheaper on chain), before the lookup tables count them. Only a
    table whose trace ends in a zero row is raised, by more zero rows: zeros are those tables'
    padding rows; a table padded otherwise (the CPU's clock runs on) or full keeps its height."""
    log_heights = {name: int(t.shape[0]).bit_length() - 1 for name, t in traces.items()}
    shapes = []
    for info, pre_height in zip(vk.infos, vk.pre_log_heights):
        name = info.table.name
        if pre_height is not None:           # in the key (the lookup tables' traces come later)
            shapes.append(H.TableShape(name, pre_height, info.main_width + info.layout.width, True))
        elif name in traces:
            shapes.append(H.TableShape(name, log_heights[name], info.main_width + info.layout.width, False,
                                       _ends_in_zeros(traces[name])))
    params = vk.params
    targets = H.fri_friendly_heights(shapes, extra=1 if vk.hiding else 0, max_log_arity=params.max_log_arity,
                                     final=params.log_final_poly_len)
    out = dict(traces)
    for name, lh in targets.items():
        trace = traces.get(name)
        if trace is not None and lh > log_heights[name]:
            out[name] = np.concatenate([trace, np.zeros(((1 << lh) - trace.shape[0], trace.shape[1]), trace.dtype)])
    return out


def _ends_in_zeros(trace: np.ndarray) -> bool:
    return trace.shape[0] > 0 and not trace[-1].any()


def with_lookups(tables: Sequence[Table], traces: dict[str, np.ndarray],
                 publics: dict[str, list[int]]) -> dict[str, np.ndarray]:
    """``traces`` plus the Byte and Range16 multiplicities of every table's lookups."""
    senders = [t for t in tables if t.name not in LOOKUP_TABLES]
    return {**traces, **lookup.lookup_traces(senders, traces, publics)}
