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
from prover.field import P
from prover.zkmips.syscall.witness import time_columns
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
    k.update(time_columns(cyc))
    if shift_offset:
        k["clk_offset"] += 1
    _set_tw(wit, i, 1, (cyc % 10**8) * CLOCK_NS_PER_CYCLE)


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


def _usec(k) -> int:
    return k["uq_0"] + 256 * k["uq_1"] + 65536 * k["uq_2"]


def _forge_usec(wit):
    """usec one more (the quotient columns follow; the remainder goes below 0)."""
    i = _kidx(wit, "gettimeofday")
    k = wit.kernel[i]
    q = _usec(k) + 1
    k.update(uq_0=q & 0xFF, uq_1=(q >> 8) & 0xFF, uq_2=q >> 16, ur=(k["ur"] - 100) % P)
    _set_tw(wit, i, 1, q)


def _forge_usec_word_only(wit):
    i = _kidx(wit, "gettimeofday")
    _set_tw(wit, i, 1, _usec(wit.kernel[i]) + 1)


def _forge_second_for_remainder(name, j):
    """One more second and 10^8 cycles less remainder, the same cycle (cyc = 10^8 sec + cr
    still holds in the field): the remainder goes below 0, which its limbs cannot hold."""
    def forge(wit):
        i = _kidx(wit, name)
        k = wit.kernel[i]
        cr = (sum(k[f"cr_{l}"] << (8 * l) for l in range(4)) - 10**8) % P
        k["sec"] += 1
        k.update({f"cr_{l}": (cr >> (8 * l)) & 0xFF for l in range(4)})
        _set_tw(wit, i, j, k["sec"])
    return forge


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
    "clock_gettime: one more second, 10^8 cycles less remainder": _forge_second_for_remainder("clock_gettime", 0),
    "time: one more second, 10^8 cycles less remainder": _forge_second_for_remainder("time", 0),
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


# ----------------------------------------------------------------------------- the clock past 2^22 cycles
@pytest.mark.parametrize("cyc", [0, 1, 99, 12_345_678, (1 << 22) + 7, 10**8 - 1, 10**8, 3 * 10**8 + 123_456_789 % 10**8,
                                 (1 << 30) - 1])
def test_time_columns_are_what_the_vm_answers(cyc):
    """The kernel row's clock columns give the struct words vm.syscalls writes at any
    cycle the proof supports (seconds included), and satisfy the row's equations."""
    import struct
    from vm.syscalls import Kernel

    class Mem:
        def __init__(self):
            self.data = {}

        def write(self, addr, b):
            self.data[addr] = bytes(b)

        def write_u32(self, addr, v):
            self.data[addr] = struct.pack("<I", v)

    c = time_columns(cyc)
    word = lambda name: sum(c[f"{name}_{j}"] << (8 * j) for j in range(4))   # noqa: E731
    sec, cr, ns = c["sec"], word("cr"), word("ns")
    usec = c["uq_0"] + 256 * c["uq_1"] + 65536 * c["uq_2"]
    assert c["cyc_lo"] + 65536 * c["cyc_hi"] == cyc == 10**8 * sec + cr and sec <= 10
    assert cr + word("crd") == 10**8 - 1 and ns == 10 * cr and cr == 100 * usec + c["ur"] and c["ur"] < 100
    assert c["cr_3"] < 6 and c["crd_3"] < 6 and c["ns_3"] < 60
    k, mem = Kernel(), Mem()
    k.sys_clock_gettime(mem, cyc, 1, 0x100)
    k.sys_clock_gettime64(mem, cyc, 0, 0x200)
    k.sys_gettimeofday(mem, cyc, 0x300, 0)
    assert k.sys_time(mem, cyc, 0x400) == sec
    assert mem.data[0x100] == struct.pack("<II", sec, ns)
    assert mem.data[0x200] == struct.pack("<IIII", sec, 0, ns, 0)
    assert mem.data[0x300] == struct.pack("<II", sec, usec)
    assert mem.data[0x400] == struct.pack("<I", sec)


LATE_CLOCK = r"""
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
int main(void) {
  volatile unsigned x = 0;
  for (unsigned i = 0; i < 1100000; i++) x += i;                 /* past cycle 2^22 */
  struct timespec ts;
  struct timeval tv;
  time_t t = time(NULL);
  clock_gettime(CLOCK_MONOTONIC, &ts);
  gettimeofday(&tv, NULL);
  printf("%ld %ld %ld %ld %ld %u\n", (long)t, (long)ts.tv_sec, ts.tv_nsec, (long)tv.tv_sec, (long)tv.tv_usec, x);
  return 0;
}
"""


@pytest.mark.slow
def test_a_clock_read_after_cycle_2_22_is_proven(compile_c):
    """A glibc program that reads the clock after 2^22 cycles: the segmented receipt
    verifies and claims the VM's journal (make test-all: about 4.4 M cycles)."""
    from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
    from prover.zkmips.segment_receipt import prove_segmented, verify_segmented
    elf = compile_c(LATE_CLOCK).read_bytes()
    res = vm.execute(elf, b"", b"")
    assert res.cycles > 1 << 22
    claim = verify_segmented(prove_segmented(elf, params=FAST, segment_log=19).encode(), allow_insecure=True)
    assert claim.journal == res.journal and claim.exit_code == 0
