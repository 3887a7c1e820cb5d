"""Real guest executions through the ALU-B tables: every shift, bit-manipulation,
multiply and divide that the ``bits`` and ``alu_edges`` guests execute is turned into
bus events the way the CPU table will send them (spec.py's operand conventions), and the
Shift, BitManip, Mul and DivRem tables prove them together in one proof."""

from __future__ import annotations

import numpy as np
import pytest

import vm
from prover.zkmips.bitmanip import bitmanip_shift_events, bitmanip_trace, build_bitmanip
from prover.zkmips.divrem import build_divrem, divrem_trace
from prover.zkmips.mul import build_mul, mul_trace
from prover.zkmips.shift import build_shift, shift_trace
from tests.conftest import guest
from tests.prover.zkmips.alub_harness import Prover, alu_driver, alu_driver_trace, hilo_driver, hilo_driver_trace
from vm.executor import TRACE_COLUMNS
from vm.isa import OP

COL = {name: i for i, name in enumerate(TRACE_COLUMNS)}
SHIFT_IMM = {OP[m]: OP[m] for m in ("sll", "srl", "sra", "rotr")}
SHIFT_VAR = {OP[m + "v"]: OP[m] for m in ("sll", "srl", "sra", "rotr")}
RT_UNARY = {OP[m] for m in ("seb", "seh", "wsbh")}
RS_UNARY = {OP[m] for m in ("clz", "clo")}
HILO = {OP[m] for m in ("mult", "multu", "madd", "maddu", "msub", "msubu", "div", "divu")}


def guest_rows(names=("bits", "alu_edges")) -> np.ndarray:
    rows = []
    for name in names:
        tr = vm.trace(vm.load_elf(guest(name, "O2").read_bytes()))
        rows += [c.rows for c in tr.chunks]
    return np.concatenate(rows)


def alu_events(rows: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Per table, the ``alu``/``hilo`` events of the trace rows (what the CPU sends)."""
    op, word = rows[:, COL["op"]], rows[:, COL["word"]]
    rs, rt = rows[:, COL["rs_value"]], rows[:, COL["rt_value"]]
    rt_after, rd_after = rows[:, COL["rt_after"]], rows[:, COL["rd_after"]]
    sa, rd = (word >> 6) & 31, (word >> 11) & 31
    hi, lo = rows[:, COL["hi"]], rows[:, COL["lo"]]
    hi_in, lo_in = np.concatenate([[0], hi[:-1]]), np.concatenate([[0], lo[:-1]])

    def pick(mask, **cols):
        return {k: np.asarray(v)[mask] for k, v in cols.items()}

    register_form = np.arange(len(OP), dtype=np.int64)
    for src, dst in {**SHIFT_IMM, **SHIFT_VAR}.items():
        register_form[src] = dst
    reg_op = register_form[op]
    is_imm = np.isin(op, list(SHIFT_IMM))
    shift = pick(np.isin(op, list(SHIFT_IMM) + list(SHIFT_VAR)), op=reg_op, a=rt, b=np.where(is_imm, sa, rs),
                 c=rd_after)
    is_ext, is_ins = op == OP["ext"], op == OP["ins"]
    bm_mask = np.isin(op, list(RT_UNARY | RS_UNARY)) | is_ext | is_ins
    bitmanip = pick(bm_mask, op=op, a=np.where(np.isin(op, list(RT_UNARY)), rt, rs),
                    b=np.where(is_ins, rt, 0), c=np.where(is_ext | is_ins, rt_after, rd_after),
                    aux=np.where(is_ext, sa + 32 * (rd + 1), np.where(is_ins, sa + 32 * rd, 0)))
    mul_mask = (op == OP["mul"]) | (np.isin(op, list(HILO)) & ~np.isin(op, (OP["div"], OP["divu"])))
    mul = pick(mul_mask, op=op, a=rs, b=rt, hi_in=hi_in, lo_in=lo_in, hi_out=np.where(op == OP["mul"], 0, hi),
               lo_out=np.where(op == OP["mul"], rd_after, lo))
    div = pick(np.isin(op, (OP["div"], OP["divu"])), op=op, a=rs, b=rt, hi_in=hi_in, lo_in=lo_in, hi_out=hi,
               lo_out=lo)
    return {"shift": shift, "bitmanip": bitmanip, "mul": mul, "divrem": div}


@pytest.fixture(scope="module")
def events():
    return alu_events(guest_rows())


def test_guests_exercise_every_operation(events):
    seen = set(np.concatenate([e["op"] for e in events.values()]).tolist())
    wanted = {OP[m] for m in ("sll", "srl", "sra", "rotr", "clz", "seb", "seh", "wsbh", "ext", "ins", "mul",
                              "mult", "multu", "div", "divu")}
    assert wanted <= seen, sorted(wanted - seen)


def _concat(*parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Stack alu events (``aux`` defaults to 0)."""
    return {k: np.concatenate([p.get(k, np.zeros(len(p["op"]), np.int64)) for p in parts])
            for k in ("op", "a", "b", "c", "aux")}


def test_guest_operations_prove(events):
    """One proof: the drivers send exactly what the CPU would; the tables (with the
    shifts BitManip delegates) receive all of it."""
    mul_ev, bm_ev = events["mul"], events["bitmanip"]
    is_mul = mul_ev["op"] == OP["mul"]
    mul_alu = {"op": mul_ev["op"][is_mul], "a": mul_ev["a"][is_mul], "b": mul_ev["b"][is_mul],
               "c": mul_ev["lo_out"][is_mul]}
    hilo = {k: np.concatenate([mul_ev[k][~is_mul], events["divrem"][k]]) for k in mul_ev}
    shifts = {k: np.concatenate([events["shift"][k], bitmanip_shift_events(bm_ev)[k]]) for k in events["shift"]}
    prover = Prover([build_shift(), build_bitmanip(), build_mul(), build_divrem(), alu_driver(), hilo_driver()])
    prover.prove_verify({"shift": shift_trace(shifts), "bitmanip": bitmanip_trace(bm_ev),
                         "mul": mul_trace(mul_ev), "divrem": divrem_trace(events["divrem"]),
                         "alu_driver": alu_driver_trace(_concat(events["shift"], bm_ev, mul_alu)),
                         "hilo_driver": hilo_driver_trace(hilo)})
