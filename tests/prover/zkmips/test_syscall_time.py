"""The time calls of the kernel table (prover.zkmips.syscall.kernel, ``TIME_CALLS``):
clock_gettime, clock_gettime64, gettimeofday, time and clock_getres_time64, proven on a
guest doing raw o32 syscalls (the driver table plays the CPU, as in
test_syscall_kernel.py); forged results are rejected; a glibc guest's clock calls pass the
witness builder; unaligned buffers are refused in one line."""

from __future__ import annotations

import numpy as np
import pytest

import vm
from prover.errors import VerificationError
from prover.zkmips import syscall as S
from tests.prover.zkmips.test_syscall import PRIVATE, PUBLIC, Run, check_claim
from tests.prover.zkmips.test_syscall_kernel import (
    SYS6, _compile, _kidx, _records, _set_access, _set_result, verify_forgery,
)
from vm.executor import Executor
from vm.syscall_log import SyscallLog
from vm.syscalls import CLOCK_NS_PER_CYCLE

GUEST = SYS6 + r"""
static unsigned buf[20] __attribute__((aligned(16)));
void __start(void) {
  long acc = 0;
  for (volatile int i = 0; i < 300; i++) ;                         /* past cycle 1000: usec > 0 */
  acc += sys3(4263, 1, (long)&buf[0], 0);                         /* clock_gettime(MONOTONIC) */
  acc += sys3(4403, 0, (long)&buf[2], 0);                         /* clock_gettime64(REALTIME) */
  acc += sys3(4078, (long)&buf[6], 0, 0);                         /* gettimeofday(tv, NULL) */
  acc += sys3(4078, 0, 0, 0);                                     /* gettimeofday(NULL, NULL) */
  acc += sys3(4013, (long)&buf[8], 0, 0);                         /* time(&t) */
  acc += sys3(4013, 0, 0, 0);                                     /* time(NULL) */
  acc += sys3(4406, 1, (long)&buf[12], 0);                        /* clock_getres_time64 */
  acc += sys3(4406, 1, 0, 0);                                     /* clock_getres_time64(NULL) */
  buf[16] = 0xdeadbeef;
  buf[18] = 0x12345678;
  sys3(4004, 1, (long)buf, sizeof buf);                           /* the journal shows the words */
  sys3(4001, acc & 0xFF, 0, 0);
  for (;;) ;
}
"""

UNALIGNED = SYS6 + r"""
static unsigned buf[8] __attribute__((aligned(16)));
void __start(void) { sys3(4263, 1, (long)buf + 2, 0); sys3(4001, 0, 0, 0); for (;;) ; }
"""

TIME_NAMES = ("clock_gettime", "clock_gettime64", "gettimeofday", "time", "clock_getres_time64")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return Run(_compile(tmp_path_factory, GUEST, "timeguest"))


def _rec(run, name, nth=0):
    return [r for r in run.records if r.name == name][nth]


def test_time_calls_prove(run):
    names = [r.name for r in run.records]
    assert sum(n in TIME_NAMES for n in names) == 8 and len(run.wit.kernel) == 8
    proof, statement = run.prove_honestly()
    res = run.result
    assert res.exit_code == 0
    assert check_claim(run, proof, statement, PUBLIC, res.journal, res.exit_code)
    w = np.frombuffer(res.journal, "<u4")
    ns = [CLOCK_NS_PER_CYCLE * _rec(run, n).cycle for n in ("clock_gettime", "clock_gettime64", "gettimeofday")]
    assert _rec(run, "gettimeofday").cycle > 1000
    assert list(w[0:2]) == [0, ns[0]]
    assert list(w[2:6]) == [0, 0, ns[1], 0]
    assert list(w[6:8]) == [0, ns[2] // 1000]
    assert w[8] == 0 and list(w[12:16]) == [0, 0, CLOCK_NS_PER_CYCLE, 0]


def test_unaligned_buffer_is_refused(tmp_path_factory):
    program, _, records = _records(_compile(tmp_path_factory, UNALIGNED, "timeunaligned"))
    with pytest.raises(ValueError, match=r"^syscall clock_gettime \(4263\) .* is not provable yet \(its buffer "
                                         r"0x[0-9a-f]+ is not 4-byte aligned\)"):
        S.syscall_witness(records, PUBLIC, PRIVATE, program.end)


# ----------------------------------------------------------------------------- forgeries
def _set_tw(wit, i, j, value):
    for limb in range(4):
        wit.kernel[i][f"tw{j}_{limb}"] = (value >> (8 * limb)) & 0xFF
    _set_access(wit, S.KERNEL_TABLE, i, f"tw{j}", value)


def _forge_nsec(name, j):
    """The nsec word is 10 ns later than the clock (ns columns kept consistent with it)."""
    def forge(wit):
        i = _kidx(wit, name)
        ns = sum(wit.kernel[i][f"ns_{l}"] << (8 * l) for l in range(4)) + CLOCK_NS_PER_CYCLE
        wit.kernel[i].update({f"ns_{l}": (ns >> (8 * l)) & 0xFF for l in range(4)})
        _set_tw(wit, i, j, ns)
    return forge


def _later_clock(wit, shift_offset: bool):
    i = _kidx(wit, "clock_gettime")
    k = wit.kernel[i]
    cyc = k["cyc_lo"] + 65536 * k["cyc_hi"] + 1
    ns = cyc * CLOCK_NS_PER_CYCLE
    k.update(cyc_lo=cyc & 0xFFFF, cyc_hi=cyc >> 16, ur=cyc % 100, uq_0=(cyc // 100) & 0xFF, uq_1=(cyc // 100) >> 8)
    k.update({f"ns_{l}": (ns >> (8 * l)) & 0xFF for l in range(4)})
    if shift_offset:
        k["clk_offset"] += 1
    _set_tw(wit, i, 1, ns)


def _forge_nsec_cycle(wit):
    """nsec and cyc both one cycle later: ts = 8 (cyc - clk_offset) fails."""
    _later_clock(wit, False)


def _forge_nsec_offset(wit):
    """nsec and cyc one cycle later, and the kernel row's clk_offset one more so that
    ts = 8 (cyc - clk_offset) holds: the offset is not the header's public (0 for a whole
    run), which the syskern tuple carries."""
    _later_clock(wit, True)


def _forge_sec(name, j):
    def forge(wit):
        _set_tw(wit, _kidx(wit, name), j, 1)
    return forge


def _forge_usec(wit):
    """usec one more (the quotient columns follow; the remainder goes below 0)."""
    i = _kidx(wit, "gettimeofday")
    k = wit.kernel[i]
    q = k["uq_0"] + 256 * k["uq_1"] + 1
    k.update(uq_0=q & 0xFF, uq_1=q >> 8, ur=(k["ur"] - 100) % (2**31 - 2**27 + 1))
    _set_tw(wit, i, 1, q)


def _forge_usec_word_only(wit):
    i = _kidx(wit, "gettimeofday")
    k = wit.kernel[i]
    _set_tw(wit, i, 1, k["uq_0"] + 256 * k["uq_1"] + 1)


def _forge_address(name):
    """The struct written one word higher (buf columns and the accesses' keys moved)."""
    def forge(wit):
        i = _kidx(wit, name)
        k = wit.kernel[i]
        buf = sum(k[f"buf_{l}"] << (8 * l) for l in range(4)) + 4
        k.update({f"buf_{l}": (buf >> (8 * l)) & 0xFF for l in range(4)})
        k.update(bq=(buf & 0xFF) >> 2, tk_lo=((buf >> 2) + 3) & 0xFFFF, tk_hi=((buf >> 2) + 3) >> 16)
        for j in range(4):
            if (S.KERNEL_TABLE, i, f"tw{j}") in wit.slots:
                wit.accesses["key"][wit.slots.index((S.KERNEL_TABLE, i, f"tw{j}"))] += 1
    return forge


def _forge_time_result(wit):
    i = _kidx(wit, "time")
    _set_result(wit, wit.kernel[i]["ts"], i, 1)


def _forge_gettime_result(wit):
    i = _kidx(wit, "clock_gettime")
    _set_result(wit, wit.kernel[i]["ts"], i, 5)


def _forge_null_writes(wit):
    """time(&t) offers no write (tnz = 0, as for a NULL pointer) though its pointer is not 0."""
    i = _kidx(wit, "time")
    wit.kernel[i].update(tnz=0, tm0=0, tinv=0)


def _forge_getres(wit):
    _set_tw(wit, _kidx(wit, "clock_getres_time64"), 2, 1)


FORGERIES = {
    "clock_gettime: a wrong nsec": _forge_nsec("clock_gettime", 1),
    "clock_gettime64: a wrong nsec": _forge_nsec("clock_gettime64", 2),
    "clock_gettime: a later clock": _forge_nsec_cycle,
    "clock_gettime: a later clock by another clk_offset": _forge_nsec_offset,
    "clock_gettime: a nonzero sec": _forge_sec("clock_gettime", 0),
    "clock_gettime64: a nonzero sec (high word)": _forge_sec("clock_gettime64", 1),
    "clock_gettime64: a nonzero pad": _forge_sec("clock_gettime64", 3),
    "gettimeofday: a nonzero sec": _forge_sec("gettimeofday", 0),
    "time: a nonzero *tloc": _forge_sec("time", 0),
    "gettimeofday: a wrong usec": _forge_usec,
    "gettimeofday: a wrong usec word": _forge_usec_word_only,
    "clock_getres_time64: a wrong resolution": _forge_getres,
    "clock_gettime: another address": _forge_address("clock_gettime"),
    "clock_gettime64: another address": _forge_address("clock_gettime64"),
    "gettimeofday: another address": _forge_address("gettimeofday"),
    "time: another address": _forge_address("time"),
    "time: a wrong result": _forge_time_result,
    "clock_gettime: a wrong result": _forge_gettime_result,
    "time: the write dropped": _forge_null_writes,
}


def test_forgery_harness_is_honest_without_a_forgery(run):
    verify_forgery(run)


@pytest.mark.parametrize("what", sorted(FORGERIES))
def test_forged_time_results_are_rejected(run, what):
    with pytest.raises(VerificationError):
        verify_forgery(run, FORGERIES[what])


# ----------------------------------------------------------------------------- a glibc guest
GLIBC = r"""
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
int main(void) {
  struct timespec ts;
  struct timeval tv;
  time_t t = time(NULL);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  gettimeofday(&tv, NULL);
  printf("%ld %ld %ld %ld %ld\n", (long)t, (long)ts.tv_sec, ts.tv_nsec, (long)tv.tv_sec, (long)tv.tv_usec);
  return 0;
}
"""


def test_glibc_clock_calls_are_provable(compile_c):
    elf = compile_c(GLIBC)
    program = vm.load_elf(elf.read_bytes())
    ex = Executor.for_program(program, b"", b"")
    log = SyscallLog.attach(ex)
    ex.run(1 << 22)
    res = ex.result()
    names = {r.name for r in log.records}
    assert {"clock_gettime64", "gettimeofday"} & names, names      # glibc 2.3x: clock_gettime64 for all three
    assert sum(r.name in TIME_NAMES for r in log.records) >= 3
    wit = S.syscall_witness(log.records, b"", b"", program.end, res.journal)
    assert wit.publics[0] == res.exit_code == 0
    assert sum(bool(k.get(f"is_{n}")) for k in wit.kernel for n in TIME_NAMES) == \
        sum(r.name in TIME_NAMES for r in log.records)
