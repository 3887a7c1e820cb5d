"""From a VM trace to the traces of every zkMIPS table (the prover's witness).

Nothing here decides what an instruction does: the values come from the VM's trace rows
(``vm/isa.py::run`` with recording on) and the control words from the Program table's
decoding. This module only routes them: the CPU's rows, its memory accesses (whose
previous values :func:`prover.zkmips.memory.access_events` derives), and the events it
sends to the ALU, HI/LO and memory-operation tables.

Public API: :func:`cpu_events` (CPU rows and their accesses), :func:`table_events`
(what each receiving table must prove), :func:`cpu_trace`.

One value is not in the VM's trace rows: the second word of an ``ldc1``/``sdc1`` (the
tracer records one memory word per cycle). :func:`cpu_events` recovers it by replaying,
in timestamp order, the cells those instructions touch (``_double_words``); the memory
argument checks the result like any other value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prover import field
from prover.zkmips import cpu as C
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips.alu_words import table_height
from prover.zkmips.spec import REGISTER_KEY_BASE, SLOT_EXTRA, TS_PER_CYCLE
from vm import isa
from vm.executor import TRACE_COLUMNS
from vm.layout import FPR0

COL = {name: i for i, name in enumerate(TRACE_COLUMNS)}
MASK32 = 0xFFFFFFFF
#: Slot -> (value word, enable field, is_write: a field, ``"!field"`` (1 - field) or a constant).
_SLOT_SPEC = {
    "acc_a": ("a", "read_a", 0), "acc_b": ("b", "read_b", 0), "acc_mem": ("mem", "is_mem", "is_store"),
    "acc_d": ("d", "write_d", 1), "acc_hi": ("hi", "hi_en", "hi_wr"), "acc_lo": ("lo", "lo_en", "lo_wr"),
    "acc_sys": ("sys", "sys_en", 1), "acc_mem2": ("e", "is_dbl", "is_store"), "acc_odd": ("e", "is_dbl", "!is_store"),
}


def _is_write(fields: dict[str, np.ndarray], spec: int | str, rows: np.ndarray) -> np.ndarray:
    if isinstance(spec, int):
        return np.full(rows.size, spec, np.int64)
    if spec.startswith("!"):
        return 1 - fields[spec[1:]][rows]
    return fields[spec][rows]


@dataclass
class CpuEvents:
    """Per executed cycle: the control word (``fields``: name -> int64[n]) and the values
    of every word column (``words``: name -> int64[n]); ``keys``: each slot's cell key."""
    fields: dict[str, np.ndarray]
    words: dict[str, np.ndarray]
    keys: dict[str, np.ndarray]

    @property
    def rows(self) -> int:
        return int(self.fields["pc"].size)


def control_words(program_rows: np.ndarray, pcs: np.ndarray) -> dict[str, np.ndarray]:
    """The Program rows fetched at ``pcs`` (raises, via program_trace, if one is not fetchable)."""
    P.program_trace(program_rows, pcs)
    valid = program_rows[:, 0] == 1
    table_pcs = program_rows[valid, 1].astype(np.int64)
    order = np.argsort(table_pcs)
    idx = np.nonzero(valid)[0][order][np.searchsorted(table_pcs[order], pcs)]
    picked = program_rows[idx].astype(np.int64)
    return {name: picked[:, i] for i, name in enumerate(P.FIELDS)}


def cpu_events(rows: np.ndarray, program_rows: np.ndarray, *, image: M.MemoryImage | None = None,
               extra_accesses: dict[str, np.ndarray] | None = None, first_clk: int = 1) -> CpuEvents:
    """The CPU's view of trace ``rows`` (int64[n, len(TRACE_COLUMNS)]).

    ``image`` and ``extra_accesses`` (the other tables' accesses: key, ts, value,
    is_write) only serve to recover the second word of ldc1/sdc1 (``_double_words``):
    without them, a word that no earlier CPU access shows (a RAM word first read by an
    ldc1, not written before in the run) cannot be recovered (ValueError), and a word a
    system call changed since the CPU last touched it comes out stale (the memory check
    then refuses it). FPU registers need neither: the VM starts them at 0 and only the
    CPU writes them."""
    rows = np.asarray(rows, dtype=np.int64)
    pc, op, word = rows[:, COL["pc"]], rows[:, COL["op"]], rows[:, COL["word"]]
    f = control_words(program_rows, pc)
    f["next_pc"] = rows[:, COL["next_pc"]]
    flags = isa.OPERANDS[op]
    rs_v, rt_v = rows[:, COL["rs_value"]], rows[:, COL["rt_value"]]
    mem_word = rows[:, COL["mem_value"]]
    on = {k: f[k] == 1 for k in f if k not in ("pc", "op", "key_a", "key_b", "key_d", "alu_op", "memop",
                                                 "trap_op", "target", "aux")}

    # d: the destination value the instruction computes (even when it goes to $0).
    d = np.where(flags & isa.WRITES_RD, rows[:, COL["rd_after"]],
                 np.where(flags & isa.WRITES_RT, rows[:, COL["rt_after"]], 0))
    d = np.where(on["link"], (pc + 8) & MASK32, d)
    d = np.where(np.isin(op, [isa.OP["lwc1"], isa.OP["ldc1"]]), mem_word, d)
    d = np.where(np.isin(op, [isa.OP[m] for m in ("mtc1", "mthc1", "ctc1")]), rt_v, d)
    d = np.where(on["has_dst"], d, 0)
    # a: rs, or for moves out of a special cell (TLS, FPU, FCSR) the value moved.
    gpr_a = (f["key_a"] >= REGISTER_KEY_BASE) & (f["key_a"] < REGISTER_KEY_BASE + 32)
    a = np.where(on["read_a"], np.where(gpr_a, rs_v, d), 0)
    gpr_b = (f["key_b"] >= REGISTER_KEY_BASE) & (f["key_b"] < REGISTER_KEY_BASE + 32)
    b = np.where(on["read_b"], np.where(gpr_b, rt_v, mem_word), 0)
    imm = f["imm0"] | (f["imm1"] << 8) | (f["imm2"] << 16) | (f["imm3"] << 24)
    x = np.where(on["x_is_b"], b, a)
    y = np.where(on["y_is_imm"], imm, np.where(on["y_is_a"], a, b))
    hi = np.where(on["hi_en"], rows[:, COL["hi"]], 0)
    lo = np.where(on["lo_en"], rows[:, COL["lo"]], 0)
    mem = np.where(on["is_mem"], mem_word, 0)
    addr = np.where(on["is_mem"], (rs_v + imm) & MASK32, 0)
    sys = np.where(on["sys_en"], f["sys_val"], 0)
    words = dict(a=a, b=b, d=d, x=x, y=y, hi=hi, lo=lo, mem=mem, addr=addr, sys=sys, e=np.zeros(pc.size, np.int64))
    keys = {"acc_a": f["key_a"], "acc_b": f["key_b"], "acc_d": f["key_d"],
            "acc_mem": np.where(on["is_mem"], addr >> 2, 0),
            "acc_hi": np.full(pc.size, P.HI_KEY), "acc_lo": np.full(pc.size, P.LO_KEY),
            "acc_sys": np.full(pc.size, P.LLBIT_KEY),
            "acc_mem2": np.where(on["is_dbl"], (addr >> 2) + 1, 0), "acc_odd": f["key_e"]}
    ev = CpuEvents(f, words, keys)
    if on["is_dbl"].any():
        words["e"] = _double_words(ev, image, extra_accesses, first_clk)
    return ev


def _double_words(ev: CpuEvents, image: M.MemoryImage | None, extra_accesses: dict[str, np.ndarray] | None,
                  first_clk: int) -> np.ndarray:
    """The second word of each ldc1/sdc1 (0 on other rows): what its source cell (the RAM
    word ``addr + 4`` for ldc1, the pair's odd FPR for sdc1) holds at that cycle.

    That is the value of the source cell's last earlier access: one of the CPU's other
    accesses (their values are in the trace), one of ``extra_accesses``, or the second
    word an earlier ldc1/sdc1 wrote there (so the rows are replayed in order); failing
    those, the initial value (``image``; FPU registers start at 0)."""
    f = ev.fields
    dbl = np.nonzero(f["is_dbl"] == 1)[0]
    clk = np.arange(first_clk, first_clk + ev.rows, dtype=np.int64)
    parts = [a for name, a in cpu_accesses(ev, first_clk).items() if name not in ("acc_mem2", "acc_odd")]
    if extra_accesses is not None:
        parts.append(extra_accesses)
    load = f["is_store"][dbl] == 0
    mem_key, fpr_key = ev.keys["acc_mem2"][dbl], ev.keys["acc_odd"][dbl]
    src = np.where(load, mem_key, fpr_key)
    dst = np.where(load, fpr_key, mem_key)
    at = TS_PER_CYCLE * clk[dbl] + SLOT_EXTRA
    key = np.concatenate([np.asarray(p["key"], np.int64) for p in parts])
    mine = np.isin(key, np.unique(src))
    key = key[mine]
    ts = np.concatenate([np.asarray(p["ts"], np.int64) for p in parts])[mine]
    value = np.concatenate([np.asarray(p["value"], np.int64) for p in parts])[mine]
    # The last known access of each source cell before `at` (keys < 2^31, ts < 2^30).
    packed = (key << 32) | ts
    order = np.argsort(packed)
    packed, value = packed[order], value[order]
    pos = np.searchsorted(packed, (src << 32) | at) - 1
    safe = np.maximum(pos, 0)
    hit = (pos >= 0) & ((packed[safe] >> 32) == src) if packed.size else np.zeros(src.size, bool)
    known_ts = np.where(hit, packed[safe] & 0xFFFFFFFF, -1) if packed.size else np.full(src.size, -1)
    known_value = np.where(hit, value[safe], 0) if packed.size else np.zeros(src.size, np.int64)
    if image is not None:
        _, initial = image.lookup(src)
    else:
        initial = np.zeros(src.size, np.int64)
    fpu = (src >= REGISTER_KEY_BASE + FPR0) & (src < REGISTER_KEY_BASE + FPR0 + 32)
    written: dict[int, tuple[int, int]] = {}          # cell -> (ts, value) of the last e written there
    out = np.zeros(ev.rows, np.int64)
    for i, row in enumerate(dbl.tolist()):
        s = int(src[i])
        last = written.get(s)
        if last is not None and last[0] > known_ts[i]:
            v = last[1]
        elif known_ts[i] >= 0:
            v = int(known_value[i])
        elif image is not None or fpu[i]:
            v = int(initial[i])
        else:
            raise ValueError(f"{isa.MNEMONICS[int(f['op'][row])]} at pc 0x{int(f['pc'][row]):08x}: its second word "
                             f"(cell {s}) is not known from the run; pass the memory image to cpu_events")
        out[row] = v
        written[int(dst[i])] = (int(at[i]), v)
    return out


def cpu_accesses(ev: CpuEvents, first_clk: int = 1) -> dict[str, dict[str, np.ndarray]]:
    """Per slot, the accesses of the enabled rows: ``row``, ``key``, ``ts``, ``value``, ``is_write``."""
    clk = np.arange(first_clk, first_clk + ev.rows, dtype=np.int64)
    out = {}
    for slot, ts_slot in C.SLOTS:
        word, enable, write = _SLOT_SPEC[slot]
        rows = np.nonzero(ev.fields[enable] == 1)[0]
        is_write = _is_write(ev.fields, write, rows)
        out[slot] = {"row": rows, "key": ev.keys[slot][rows], "ts": TS_PER_CYCLE * clk[rows] + ts_slot,
                     "value": ev.words[word][rows], "is_write": is_write}
    return out


def cpu_trace(ev: CpuEvents, access_prev: dict[str, dict[str, np.ndarray]], first_clk: int = 1) -> np.ndarray:
    """The CPU table's trace. ``access_prev``: per slot, ``prev_value`` and ``prev_ts`` of
    its enabled accesses (in :func:`cpu_accesses` order), from ``access_events``."""
    table = C.build_cpu()
    n = ev.rows
    height = table_height(n)
    col = {name: i for i, name in enumerate(table.main_names)}
    out = np.zeros((height, table.width), dtype=np.int64)
    out[:n, col["is_real"]] = 1
    out[:, col["clk"]] = np.arange(first_clk, first_clk + height)
    out[:n, col["pc"]] = ev.fields["pc"]
    out[:n, col["next_pc"]] = ev.fields["next_pc"]
    for name in P.FIELDS[1:]:
        if name != "pc":
            out[:n, col[name]] = ev.fields[name]
    for name in C.WORDS:
        out[:n, col[f"{name}0"]: col[f"{name}0"] + 4] = M.word_limbs_array(ev.words[name])
    _fill_gadgets(out, col, ev)
    for name in ("eq", "a_zero", "b_zero"):      # padding rows compare zero words
        out[n:, col[name]] = 1
    for slot, _ in C.SLOTS:
        word = _SLOT_SPEC[slot][0]
        value = ev.words[word]
        acc = {"value": value, "prev_value": value.copy(), "prev_ts": np.zeros(n, np.int64),
               "ts": np.zeros(n, np.int64)}
        active = np.zeros(n, dtype=bool)
        got = access_prev[slot]
        rows = got["row"]
        active[rows] = True
        acc["prev_value"][rows] = got["prev_value"]
        acc["prev_ts"][rows] = got["prev_ts"]
        acc["ts"][rows] = got["ts"]
        start = col[f"{slot}_prev0"]
        out[:n, start: start + len(M.ACCESS_WITNESS)] = M.access_witness(acc, active)
    return out


def _fill_gadgets(out: np.ndarray, col: dict[str, int], ev: CpuEvents) -> None:
    """Comparison witnesses (with their inverses) and the address split."""
    n = ev.rows
    w = ev.words

    def limbs(v: np.ndarray) -> np.ndarray:
        return M.word_limbs_array(v).astype(np.int64)

    def inverse(v: np.ndarray) -> np.ndarray:
        """The inverse of each non-zero entry, 0 for 0 (the is-zero gadgets' witness).
        Entries are below 2^18, so they are already canonical field elements."""
        out = np.zeros(v.shape, dtype=np.int64)
        nonzero = v != 0
        out[nonzero] = field.batch_inv(v[nonzero].astype(np.uint32))
        return out

    la, lb, ly = limbs(w["a"]), limbs(w["b"]), limbs(w["y"])
    diff_sq = ((la - ly) ** 2).sum(axis=1)
    a_sum, b_sum = la.sum(axis=1), lb.sum(axis=1)
    out[:n, col["eq"]] = diff_sq == 0
    out[:n, col["eq_inv"]] = inverse(diff_sq)
    out[:n, col["a_zero"]] = a_sum == 0
    out[:n, col["a_inv"]] = inverse(a_sum)
    out[:n, col["b_zero"]] = b_sum == 0
    out[:n, col["b_inv"]] = inverse(b_sum)
    out[:n, col["a_neg"]] = w["a"] >> 31
    f = ev.fields
    sv = np.where(w["a"] >> 31 == 1, w["a"] - (1 << 32), w["a"])
    eq = w["a"] == w["y"]
    taken = ((f["br_eq"] == 1) & eq) | ((f["br_ne"] == 1) & ~eq) | ((f["br_lez"] == 1) & (sv <= 0)) \
        | ((f["br_gtz"] == 1) & (sv > 0)) | ((f["br_ltz"] == 1) & (sv < 0)) | ((f["br_gez"] == 1) & (sv >= 0))
    out[:n, col["taken"]] = taken
    addr = w["addr"]
    out[:n, col["addr_q"]] = (addr & 0xFF) >> 2
    out[:n, col["lo2_b0"]] = addr & 1
    out[:n, col["lo2_b1"]] = (addr >> 1) & 1


def table_events(ev: CpuEvents, access_prev: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
    """What the CPU sends, grouped by bus: ``alu`` (op, a, b, c, aux), ``hilo`` (op, a, b,
    hi_in, lo_in, hi_out, lo_out) and ``memop`` (op, lo2, rt, mem_prev, mem_new, result,
    llbit), each a dict of int64 arrays."""
    f, w = ev.fields, ev.words

    def prev_of(slot: str) -> np.ndarray:
        word = _SLOT_SPEC[slot][0]
        out = w[word].copy()
        out[access_prev[slot]["row"]] = access_prev[slot]["prev_value"]
        return out

    imm = f["imm0"] | (f["imm1"] << 8) | (f["imm2"] << 16) | (f["imm3"] << 24)
    alu_rows, mem_rows, trap_rows = (np.nonzero(f[k] == 1)[0] for k in ("is_alu", "is_mem", "trap_cmp"))
    alu = {
        "op": np.concatenate([f["alu_op"][alu_rows], np.full(mem_rows.size, isa.OP["addu"]), f["trap_op"][trap_rows]]),
        "a": np.concatenate([w["x"][alu_rows], w["a"][mem_rows], w["a"][trap_rows]]),
        "b": np.concatenate([w["y"][alu_rows], imm[mem_rows], w["y"][trap_rows]]),
        "c": np.concatenate([w["d"][alu_rows], w["addr"][mem_rows], f["trap_expect"][trap_rows]]),
        "aux": np.concatenate([f["aux"][alu_rows], np.zeros(mem_rows.size + trap_rows.size, np.int64)]),
    }
    hilo_rows = np.nonzero(f["is_hilo"] == 1)[0]
    hi_prev, lo_prev = prev_of("acc_hi"), prev_of("acc_lo")
    hilo = {"op": f["alu_op"][hilo_rows], "a": w["a"][hilo_rows], "b": w["b"][hilo_rows],
            "hi_in": hi_prev[hilo_rows], "lo_in": lo_prev[hilo_rows],
            "hi_out": w["hi"][hilo_rows], "lo_out": w["lo"][hilo_rows]}
    mem_prev, sys_prev = prev_of("acc_mem"), prev_of("acc_sys")
    memop = {"op": f["memop"][mem_rows], "lo2": w["addr"][mem_rows] & 3, "rt": w["b"][mem_rows],
             "mem_prev": mem_prev[mem_rows], "mem_new": w["mem"][mem_rows], "result": w["d"][mem_rows],
             "llbit": np.where(f["is_sc"][mem_rows] == 1, sys_prev[mem_rows] & 1, 0)}
    return {"alu": alu, "hilo": hilo, "memop": memop}
