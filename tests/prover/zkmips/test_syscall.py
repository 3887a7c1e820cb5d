"""The Syscall tables on a real guest: the recorder agrees with the VM, the tables prove
the calls of a run (with a driver table playing the CPU), and forged effects are rejected.

The guest does raw o32 syscalls (no libc): write to fds 1 and 2, reads of fd 0 and 3
with short reads and reads at end of input, brk (query, grow, invalid), getpid, rseq
(ENOSYS), set_thread_area, exit.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import vm
from prover import stark
from prover.air import System, Table, check_buses, check_constraints
from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import lookup
from prover.zkmips import memory as M
from prover.zkmips import cpu as C
from prover.zkmips import program as P
from prover.zkmips import syscall as S
from prover.zkmips import witness as W
from prover.zkmips.claim import Claim, check_statement
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL, BUS_SYSCALL
from tests.prover.zkmips import memory_driver as D
from vm.executor import Executor, execute
from vm.syscall_log import SyscallLog
from vm.tracer import iter_trace

BARE = Path(__file__).resolve().parent / "bare"        # rawsys.h: raw o32 system calls

GUEST = r"""
#include "rawsys.h"
static char buf[64] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!";
void __start(void) {
  char msg[8] = {'h', 'i', '!', '\n', 0, 0, 0, 0};
  sys3(4004, 1, (long)msg, 4);                      /* journal, from the stack */
  sys3(4004, 2, (long)"log\n", 4);                  /* log: not proven, returns 4 */
  long n = sys3(4003, 0, (long)buf + 1, 5);         /* public input, unaligned */
  sys3(4004, 1, (long)buf + 1, n);
  long m = sys3(4003, 3, (long)buf + 10, 100);      /* private input: short read */
  sys3(4004, 1, (long)buf + 10, m);
  long k = sys3(4003, 0, (long)buf + 30, 100);      /* public: short read to the end */
  sys3(4004, 1, (long)buf + 29, k + 2);
  sys3(4003, 0, (long)buf, 10);                     /* at end of input: 0 */
  sys3(4003, 3, (long)buf, 10);
  sys3(4003, 0, (long)buf, 0);                      /* count 0 */
  long b = sys3(4045, 0, 0, 0);                     /* brk query (invalid: returns brk) */
  sys3(4045, b + 8192 + 5, 0, 0);                   /* grow, unaligned */
  sys3(4045, 1, 0, 0);                              /* invalid */
  sys3(4020, 0, 0, 0);                              /* getpid: 1 */
  sys3(4367, 0, 0, 0);                              /* rseq: ENOSYS */
  sys3(4283, 0x1234, 0, 0);                         /* set_thread_area */
  sys3(4001, n + m + k, 0, 0);
  for (;;) ;
}
"""
PUBLIC, PRIVATE = b"PUBLIC-INPUT", b"secret"
CFLAGS = ("-nostdlib", "-mno-abicalls", "-fno-pic", f"-I{BARE}")


def _guest_elf(compile_c, source: str = GUEST):
    return compile_c(source, "-O1", CFLAGS).read_bytes()


# ----------------------------------------------------------------------------- (a) the recorder
def test_recording_agrees_with_the_vm(compile_c):
    elf = _guest_elf(compile_c)
    program = vm.load_elf(elf)
    plain = execute(program, PUBLIC, PRIVATE)
    ex = Executor.for_program(program, PUBLIC, PRIVATE)
    log = SyscallLog.attach(ex)
    ex.run(1 << 20)
    got = ex.result()
    assert (got.exit_code, got.cycles, got.journal, got.log) == (plain.exit_code, plain.cycles, plain.journal, plain.log)
    recs = log.records
    names = [r.name for r in recs]
    assert names[0] == "write" and names[-1] == "exit" and "brk" in names and "rseq" in names
    assert b"".join(r.journal for r in recs) == got.journal == b"hi!\nPUBLIsecrettC-INPUTB"
    assert b"".join(r.log for r in recs) == b"log\n"
    assert b"".join(r.public_read for r in recs) == PUBLIC
    assert b"".join(r.private_read for r in recs) == PRIVATE
    reads = [r for r in recs if r.name == "read"]
    assert [r.v0 for r in reads] == [5, 6, 7, 0, 0, 0]           # short reads, end of input, count 0
    assert reads[2].kernel["public_pos"] == (5, 12)
    assert recs[-1].kernel["exit_code"] == (0, got.exit_code) and recs[-1].v0 is None
    brks = [r for r in recs if r.name == "brk"]
    assert brks[0].v0 == brks[0].kernel.get("brk", (0, brks[0].v0))[1] and brks[2].v0 == brks[1].v0
    assert next(r for r in recs if r.name == "rseq").a3 == 1
    # the RAM words changed by each read are exactly the bytes the input delivered
    mem = ex.memory
    for r in reads:
        for addr, old, new in r.ram:
            assert old != new and mem.read_u32(addr) == new      # the guest's buffers do not overlap
        data = r.public_read or r.private_read
        assert mem.read(r.args[1], len(data)) == data
        assert {a for a, _, _ in r.ram} <= {a for a, _, _ in r.words_written}
    cycles = [r.cycle for r in recs]
    assert cycles == sorted(cycles) and cycles[-1] == got.cycles


def test_unprovable_calls_are_refused(compile_c):
    src = GUEST.replace("sys3(4020, 0, 0, 0);", "sys3(4063, 1, 2, 0);")       # dup2(1, 2)
    program = vm.load_elf(_guest_elf(compile_c, src))
    ex = Executor.for_program(program, PUBLIC, PRIVATE)
    log = SyscallLog.attach(ex)
    ex.run(1 << 20)
    with pytest.raises(ValueError, match=r"^syscall dup2 \(4063\) at cycle \d+ is not provable yet"):
        S.syscall_witness(log.records, PUBLIC, PRIVATE, program.end)


# ----------------------------------------------------------------------------- (b) proofs
def cpu_syscalls_table() -> Table:
    """The CPU's part of a syscall: one (ts,) on the syscall bus per executed syscall."""
    t = Table("cpu_syscalls")
    ts, mult = t.mains("ts", "mult")
    t.send(BUS_SYSCALL, [ts], mult)
    return t


def driver_accesses(executor: Executor, program: vm.Program, max_cycles: int) -> tuple[np.ndarray, ...]:
    """The accesses the CPU table makes for this run (prover.zkmips.witness, the same code
    the prover uses): none for a syscall cycle, whose accesses are the Syscall tables'."""
    rows = np.concatenate([c.rows for c in iter_trace(executor, max_cycles, max_cycles)])
    slots = W.cpu_accesses(W.cpu_events(rows, P.program_rows(program)))
    return tuple(np.concatenate([slots[s][k] for s, _ in C.SLOTS]).astype(np.int64)
                 for k in ("key", "ts", "value", "is_write"))


class Run:
    """A guest run, its witness and a proving key for the whole system."""

    def __init__(self, elf: bytes):
        self.program = vm.load_elf(elf)
        ex = Executor.for_program(self.program, PUBLIC, PRIVATE)
        log = SyscallLog.attach(ex)
        self.driver = driver_accesses(ex, self.program, 1 << 16)
        self.result = ex.result()
        self.records = log.records
        self.image = S.kernel_image(M.memory_image(self.program), self.program.end)
        self.wit = S.syscall_witness(self.records, PUBLIC, PRIVATE, self.program.end, self.result.journal)
        self.system = System([*D.memory_tables(self.image), D.build_accesses(), cpu_syscalls_table(),
                              *S.syscall_tables(), S.build_private_input(), lookup.build_byte(),
                              lookup.build_range16()],
                             open_buses={BUS_INPUT, BUS_JOURNAL})
        self.pk = stark.setup(self.system, FAST)

    def traces(self, wit: S.SyscallWitness | None = None, *, check: bool = True) -> dict[str, np.ndarray]:
        wit = wit or self.wit
        sys_acc = wit.accesses
        key, ts, value, write = (np.concatenate([d, sys_acc[n]]) for d, n in
                                 zip(self.driver, ("key", "ts", "value", "is_write")))
        if not check:                      # a forged write flows into the later reads of its cell
            value = _propagate(key, ts, value, write.astype(bool), self.image)
        events = M.access_events(key, ts, value, write, self.image, check=check)
        n0 = self.driver[0].size
        drv = {k: v[:n0] for k, v in events.accesses.items()}
        mine = {k: v[n0:] for k, v in events.accesses.items()}
        cpu = np.zeros((M.table_height(len(wit.header)), 2), np.uint32)
        cpu[: len(wit.header), 0] = [r["ts"] for r in wit.header]
        cpu[: len(wit.header), 1] = 1
        traces = {M.IMAGE_TABLE: M.image_trace(self.image),
                  M.MEMORY_TABLE: D.segment_memory_trace(events.cells, check=check),
                  M.GLOBAL_MEMORY_TABLE: D.global_memory_trace(self.image, events.cells, check=check),
                  D.ACCESS_TABLE: D.accesses_trace(drv), "cpu_syscalls": cpu, **S.syscall_traces(wit, mine),
                  S.PRIVATE_TABLE: S.private_input_trace(wit)}
        return traces

    def publics(self, syscall=None):
        """Every table's public values (the Syscall table's: the run's, or ``syscall``)."""
        return {**D.PUBLICS, S.SYSCALL_TABLE: self.wit.publics if syscall is None else syscall}

    def full(self, traces, syscall=None):
        return {**traces, **D.lookup_traces(self.system, traces, self.publics(syscall))}

    def prove(self, traces, publics=None, check=True):
        return stark.prove(self.pk, self.full(traces, publics), self.publics(publics), check=check)

    def prove_honestly(self):
        """Every constraint and bus holds on the honest traces; returns the verified
        proof and its statement."""
        traces = self.full(self.traces())
        publics = self.publics()
        for t in self.system.tables:
            check_constraints(t, traces[t.name], publics.get(t.name, ()))
        check_buses(self.system, traces, publics)
        proof = self.prove(self.traces())
        return proof, stark.verify(self.pk.vk, proof)


def _propagate(key, ts, value, write, image):
    value = value.copy()
    order = np.lexsort((ts, key))
    current, last_key = 0, None
    for i in order:
        if key[i] != last_key:
            last_key = key[i]
            current = int(image.lookup(np.array([key[i]]))[1][0])
        if write[i]:
            current = int(value[i])
        else:
            value[i] = current
    return value


def check_claim(run: Run, proof, statement, public_input: bytes, journal: bytes, exit_code: int) -> bool:
    """What the receipt verifier does with the Syscall table's outputs
    (prover.zkmips.claim): the public values, then the open buses against the claim."""
    pv = statement.publics[S.SYSCALL_TABLE]
    cycles = pv[S.PUBLICS.index("cycles")]
    if pv != S.syscall_publics(public_input, journal, exit_code, pv[2], cycles):      # a whole run: final, offset 0
        return False
    try:
        check_statement(run.system, statement, Claim(b"", public_input, journal, exit_code, cycles), pv[2])
    except VerificationError:
        return False
    return True


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import os
    import subprocess
    d = tmp_path_factory.mktemp("sysguest")
    (d / "g.c").write_text(GUEST)
    subprocess.run(["mipsel-linux-gnu-gcc", "-O1", "-static", *CFLAGS, "-o", str(d / "g.elf"), str(d / "g.c")],
                   check=True, env={**os.environ, "LC_ALL": "C"})
    return Run((d / "g.elf").read_bytes())


def test_widths(run):
    widths = {t.name: t.width for t in [*S.syscall_tables(), S.build_private_input()]}
    assert widths[S.IO_TABLE] <= 32 and widths[S.PRIVATE_TABLE] == 5


def test_the_syscalls_of_a_run_prove(run):
    proof, statement = run.prove_honestly()
    res = run.result
    assert check_claim(run, proof, statement, PUBLIC, res.journal, res.exit_code)
    assert run.wit.publics[:3] == [res.exit_code, len(PUBLIC), len(PUBLIC)]
    # a claim with another journal, input or exit code does not match the proof
    bad = bytearray(res.journal)
    bad[5] ^= 1
    assert not check_claim(run, proof, statement, PUBLIC, bytes(bad), res.exit_code)
    assert not check_claim(run, proof, statement, PUBLIC[:-1] + b"?", res.journal, res.exit_code)
    assert not check_claim(run, proof, statement, PUBLIC, res.journal, res.exit_code + 1)


# ----------------------------------------------------------------------------- (c) forgeries
def _row(wit, sel, nth=0):
    rows = [i for i, r in enumerate(wit.header) if r["sel"] == sel]
    return rows[nth]


def _set_access(wit, table, row, name, value=None, key=None):
    i = wit.slots.index((table, row, name))
    if value is not None:
        wit.accesses["value"][i] = value
    if key is not None:
        wit.accesses["key"][i] = key


def _forge_count(wit):
    i = _row(wit, "s_rpub")
    wit.header[i]["r"] += 1
    _set_access(wit, S.SYSCALL_TABLE, i, "v0w", wit.header[i]["r"])


def _forge_cursor(delta):
    def forge(wit):
        i = _row(wit, "s_rpub")
        wit.header[i]["knew"] += delta
        _set_access(wit, S.SYSCALL_TABLE, i, "kc", wit.header[i]["knew"])
    return forge


def _forge_private_address(wit):
    j = next(k for k, r in enumerate(wit.io) if r["kind"] == S.KIND_PRIVATE)
    wit.io[j]["wkey"] += 16
    _set_access(wit, S.IO_TABLE, j, "w", key=wit.io[j]["wkey"])


def _forge_brk(wit):
    i = _row(wit, "s_brk", 2)                          # brk(1): invalid, returns the break
    wit.header[i]["r"] = wit.header[i]["knew"] = 1
    wit.header[i]["brk_ok"] = 1
    _set_access(wit, S.SYSCALL_TABLE, i, "v0w", 1)
    _set_access(wit, S.SYSCALL_TABLE, i, "kc", 1)


FORGERIES = {"returned count": _forge_count, "input byte skipped": _forge_cursor(1),
             "input byte duplicated": _forge_cursor(-1), "private byte to another word": _forge_private_address,
             "brk result": _forge_brk}


@pytest.mark.parametrize("what", sorted(FORGERIES))
def test_forged_effects_are_rejected(run, what):
    wit = copy.deepcopy(run.wit)
    wit.accesses = {k: v.copy() for k, v in wit.accesses.items()}
    FORGERIES[what](wit)
    proof = run.prove(run.traces(wit, check=False), check=False)
    with pytest.raises(VerificationError):
        stark.verify(run.pk.vk, proof)


def test_a_changed_journal_byte_is_rejected(run):
    """The word row sends a journal byte that is not in memory (read value and its
    'previous' both changed, as a read must keep them equal)."""
    traces = run.traces()
    io = S.build_syscall_io()
    row = next(k for k, r in enumerate(run.wit.io) if r["kind"] == S.KIND_JOURNAL)
    lo2 = run.wit.io[row]["lo2"]
    t = traces[S.IO_TABLE].copy()
    for c in (f"w{lo2}", f"w_prev{lo2}"):
        t[row, io.main_names.index(c)] ^= 1
    traces[S.IO_TABLE] = t
    proof = run.prove(traces, check=False)
    with pytest.raises(VerificationError):
        stark.verify(run.pk.vk, proof)


def test_a_wrong_exit_code_is_rejected(run):
    publics = list(run.wit.publics)
    publics[0] ^= 1
    proof = run.prove(run.traces(), publics, check=False)
    with pytest.raises(VerificationError):
        stark.verify(run.pk.vk, proof)
