"""The traces of the Syscall tables from a :class:`SyscallWitness` and the derived witness
(prev value, prev ts) of its memory accesses."""

from __future__ import annotations

import numpy as np

from prover.zkmips import memory as M
from prover.zkmips.alu_words import TraceFiller
from prover.zkmips.syscall.blobs import blob_layout
from prover.zkmips.syscall.cells import BLOB_TABLE, CONST_TABLE, IO_TABLE, KERNEL_TABLE, SYSCALL_TABLE
from prover.zkmips.syscall.constants import constant_syscalls
from prover.zkmips.syscall.gadgets import _lt_witness
from prover.zkmips.syscall.header import SELECTORS, build_syscall
from prover.zkmips.syscall.io import IO_FLAGS, IO_KINDS, build_syscall_io
from prover.zkmips.syscall.kernel import build_syscall_kernel
from prover.zkmips.syscall.witness import SyscallWitness, _limbs


def syscall_traces(wit: SyscallWitness, accesses: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The traces of the tables of :func:`syscall_tables`, given ``accesses`` =
    :func:`memory.access_events`' accesses for exactly ``wit.accesses`` (same order:
    prev_value, prev_ts derived)."""
    header = TraceFiller(build_syscall(), len(wit.header))
    io = TraceFiller(build_syscall_io(), len(wit.io))
    kern = TraceFiller(build_syscall_kernel(), len(wit.kernel))
    hrows, irows = len(wit.header), len(wit.io)
    # header
    h: dict[str, np.ndarray] = {}

    def col(name: str, values) -> None:
        h[name] = np.asarray(values, dtype=np.int64)

    col("is_real", [1] * hrows)
    col("ts", [r["ts"] for r in wit.header])
    for s in SELECTORS:
        col(s, [int(r["sel"] == s) for r in wit.header])
    for name in ("n", "short", "nz3", "b3inv", "has_io", "n_inv", "q", "l0", "l1", "brk_ok", "brk_grow", "err"):
        col(name, [r[name] for r in wit.header])
    col("d_lo", [r["d"] & 0xFFFF for r in wit.header])
    col("d_hi", [r["d"] >> 16 for r in wit.header])
    r_limbs = np.array([_limbs(r["r"]) for r in wit.header], np.int64).reshape(-1, 4)
    k_limbs = np.array([_limbs(r["knew"]) for r in wit.header], np.int64).reshape(-1, 4)
    hw_limbs = np.array([_limbs(r["hwnew"]) for r in wit.header], np.int64).reshape(-1, 4)
    for j in range(4):
        col(f"r{j}", r_limbs[:, j])
        col(f"knew{j}", k_limbs[:, j])
        col(f"hwnew{j}", hw_limbs[:, j])
    for cname in ("cmp_start", "cmp_limit", "cmp_grow", "cmp_mmap"):
        cols = np.array([_lt_witness(*r["cmp"].get(cname, (0, 0))) for r in wit.header], np.int64).reshape(-1, 4)
        for c, suffix in enumerate(("c", "lt", "dlo", "dhi")):
            col(f"{cname}_{suffix}", cols[:, c])
    for name, v in h.items():
        header[name] = v
    exits = np.cumsum(h["s_exit"]) if hrows else np.zeros(0, np.int64)
    header.set_all("exits", int(exits[-1]) if hrows else 0)
    header["exits"] = exits
    # io rows
    if irows:
        io["is_real"] = 1
        for name in ("ts", "wkey", "rem", "pos", "last"):
            io[name] = [r[name] for r in wit.io]
        io["wk_lo"] = [r["wkey"] & 0xFFFF for r in wit.io]
        io["wk_hi"] = [r["wkey"] >> 16 for r in wit.io]
        for flag, kind in zip(IO_FLAGS, IO_KINDS):
            io[flag] = [int(r["kind"] == kind) for r in wit.io]
        for j in range(4):
            io[f"f{j}"] = [int(r["lo2"] == j) for r in wit.io]
            io[f"e{j}"] = [int(r["hi"] == j) for r in wit.io]
        io.set_word("w", np.array([r["w"] for r in wit.io], np.int64))
    # kernel rows: every column a row does not name is 0
    for name in kern.table.main_names:
        if wit.kernel and any(name in r for r in wit.kernel):
            kern[name] = [r.get(name, 0) for r in wit.kernel]
    # access witnesses
    fillers = {SYSCALL_TABLE: header, IO_TABLE: io, KERNEL_TABLE: kern}
    witness = M.access_witness(accesses)
    for i, (table, row, name) in enumerate(wit.slots):
        f = fillers[table]
        for c, cname in enumerate(M.ACCESS_WITNESS):
            f._columns[f._index[f"{name}_{cname}"], row] = witness[i, c]
    const = np.zeros((M.table_height(len(constant_syscalls())), 1), np.uint32)
    for i, number in enumerate(constant_syscalls()):
        const[i, 0] = wit.const_counts.get(number, 0)
    blob = np.zeros((M.table_height(len(blob_layout().data)), 1), np.uint32)
    blob[: len(blob_layout().data), 0] = wit.blob_counts
    return {SYSCALL_TABLE: header.finish(), IO_TABLE: io.finish(), CONST_TABLE: const,
            KERNEL_TABLE: kern.finish(), BLOB_TABLE: blob}
