"""The calls that only answer a constant (``_ENOSYS``, ``_ZERO``, getpid-like, and the
calls whose handler ignores its arguments): their answers, computed by vm.syscalls, and
the preprocessed ``syscall_const`` table the header table looks them up in."""

from __future__ import annotations

import numpy as np

from prover.air import Table
from prover.zkmips import memory as M
from prover.zkmips.syscall.cells import BUS_SYSCONST, CONST_TABLE
from vm.memory import Memory
from vm.syscalls import _ENOSYS, _ZERO, SYSCALL_NAMES, Kernel

_PID_LIKE = ("getpid", "gettid", "set_tid_address", "getuid", "geteuid", "getgid", "getegid")
#: Calls whose vm.syscalls handler ignores every argument (``def sys_x(self, *_)``).
_ARG_FREE = ("lseek", "_llseek", "open", "openat", "access", "faccessat")


def constant_syscalls() -> dict[int, tuple[int, int]]:
    """``{number: (v0, a3)}`` of the calls whose answer does not depend on arguments or
    state, computed by running vm.syscalls' own dispatcher (the one semantics)."""
    out = {}
    for number, name in sorted(SYSCALL_NAMES.items()):
        if name in _ENOSYS or name in _ZERO or name in _PID_LIKE or name in _ARG_FREE:
            out[number] = Kernel().dispatch(number, [0] * 6, Memory(), 0, 0)
    return out


CONST_PRE = ("num", "r0", "r1", "r2", "r3", "err", "is_entry")


def build_syscall_const() -> Table:
    """Preprocessed ``(number, v0 limbs, a3)`` of :func:`constant_syscalls`; receives the
    header's lookups with the free multiplicity ``mult`` (0 on padding rows: ``is_entry``
    is fixed, so no zero tuple can be offered)."""
    t = Table(CONST_TABLE)
    num, r0, r1, r2, r3, err, is_entry = (t.pre(n) for n in CONST_PRE)
    mult = t.main("mult")
    t.assert_zero(mult * (1 - is_entry))
    consts = constant_syscalls()
    pre = np.zeros((M.table_height(len(consts)), len(CONST_PRE)), dtype=np.uint32)
    for i, (number, (v0, a3)) in enumerate(consts.items()):
        pre[i] = [number, *M.word_limbs_array(np.array([v0]))[0], a3, 1]
    t.set_preprocessed(pre)
    t.receive(BUS_SYSCONST, [num, r0, r1, r2, r3, err], mult)
    return t
