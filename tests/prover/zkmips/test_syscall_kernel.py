"""The kernel table (prover.zkmips.syscall): the system calls glibc's start-up makes
(getrlimit, readlink, getrandom, statx, ...) and mmap2/munmap, proven on a guest doing
raw o32 syscalls (with a driver table playing the CPU, as in test_syscall.py); forged
effects are rejected; every example guest's calls pass the witness builder; the calls
the tables cannot prove exactly are refused by the builder in one line.
"""

from __future__ import annotations

import copy
import os
import subprocess

import numpy as np
import pytest

import vm
from prover import stark
from prover.errors import VerificationError
from prover.zkmips import syscall as S
from tests.conftest import guest
from tests.prover.zkmips.test_syscall import CFLAGS, PRIVATE, PUBLIC, Run, _propagate, check_claim
from vm.executor import Executor
from vm.syscall_log import SyscallLog
from vm.syscalls import SYSCALL_NAMES, Kernel
from vm.memory import Memory

SYS6 = r"""
static long sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long v0 asm("$2") = n;
  register long a0 asm("$4") = a;
  register long a1 asm("$5") = b;
  register long a2 asm("$6") = c;
  register long a3 asm("$7") = d;
  asm volatile("addiu $sp, $sp, -32\n\tsw %6, 16($sp)\n\tsw %7, 20($sp)\n\tsyscall\n\taddiu $sp, $sp, 32"
               : "+r"(v0), "+r"(a3) : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(e), "r"(f)
               : "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25",
                 "hi", "lo", "memory");
  return a3 ? -v0 : v0;
}
#define sys3(n, a, b, c) sys6(n, a, b, c, 0, 0, 0)
"""

GUEST = SYS6 + r"""
static char exe[] = "/proc/self/exe";
static char empty[4] = "";
static char buf[1200];
void __start(void) {
  long acc = 0;
  acc += sys3(4076, 3, (long)buf + 1, 0);                           /* getrlimit(RLIMIT_STACK) */
  acc += sys3(4076, 0x103, (long)buf + 12, 0);                      /* getrlimit(other) */
  acc += sys3(4085, (long)exe, (long)buf + 30, 4096);               /* readlink: 6 */
  acc += sys3(4085, (long)exe, (long)buf + 41, 3);                  /* readlink, short buffer: 3 */
  acc += sys3(4353, (long)buf + 50, 4, 1);                          /* getrandom 4 (block 0) */
  acc += sys3(4353, (long)buf + 57, 40, 0);                         /* getrandom 40 (blocks 1, 2) */
  acc += sys3(4353, (long)buf, 0, 0);                               /* getrandom 0 */
  acc += sys6(4366, 1, (long)empty, 0x1800, 0x7ff, (long)buf + 100, 0);   /* statx(1, "", ...) */
  acc += sys3(4215, 2, (long)buf + 358, 0);                         /* fstat64(2) */
  acc += sys6(4293, 3, (long)empty, (long)buf + 463, 0x1000, 0, 0); /* fstatat64(3, "") */
  acc += sys3(4122, (long)buf + 570, 0, 0);                         /* uname */
  acc += sys3(4116, (long)buf + 961, 0, 0);                         /* sysinfo */
  acc += sys3(4203, (long)buf + 1101, 100, 0);                      /* getcwd */
  acc += sys3(4054, 1, 0x5401, 0);                                  /* ioctl: ENOTTY */
  acc += sys6(4338, 0, 3, 0, (long)buf + 1030, 0, 0);               /* prlimit64(RLIMIT_STACK, old) */
  acc += sys6(4338, 0, 7, 0, 0, 0, 0);                              /* prlimit64, no old */
  acc += sys6(4140, 2, 0, 0, (long)buf, 1, 0);                      /* _llseek: ESPIPE */
  long m = sys6(4210, 0, 10000, 3, 0x802, -1, 0);                   /* mmap2, anonymous */
  ((volatile char *)m)[9999] = 7;
  long m2 = sys6(4210, 0, 4096, 3, 0x802, -1, 0);
  acc += sys3(4091, m, 10000, 0);                                   /* munmap */
  long b = sys3(4045, 0, 0, 0);
  sys3(4045, b + 8192, 0, 0);                                       /* brk: grow */
  sys3(4045, b + 100, 0, 0);                                        /* brk: shrink */
  sys3(4004, 1, (long)buf, sizeof buf);                             /* the journal shows the bytes */
  sys3(4001, (acc + m - m2) & 0xFF, 0, 0);
  for (;;) ;
}
"""

#: Guests whose one call (chosen by the first public input byte) the builder must refuse.
REFUSED = SYS6 + r"""
static char exf[] = "/proc/self/exf";
static char dot[4] = ".";
static char empty[4] = "";
static char buf[64];
void __start(void) {
  char c;
  sys3(4003, 0, (long)&c, 1);
  long b = sys3(4045, 0, 0, 0);
  switch (c) {
  case 'a': sys3(4085, (long)exf, (long)buf, 64); break;                        /* readlink: ENOENT */
  case 'b': sys6(4366, 1, (long)dot, 0, 0x7ff, (long)buf, 0); break;           /* statx of a path */
  case 'c': sys6(4366, 9, (long)empty, 0x1000, 0x7ff, (long)buf, 0); break;    /* statx: EBADF */
  case 'd': sys3(4353, (long)buf, 32, 0); for (int i = 0; i < 200; i++) sys3(4353, (long)buf, 32, 0); break;
  case 'e': sys6(4210, 0x30000000, 4096, 3, 0x812, -1, 0); break;              /* mmap2 MAP_FIXED */
  case 'f': sys6(4210, 0, 4096, 3, 0x2, 5, 0); break;                          /* mmap2 of a file */
  case 'g': sys3(4091, 0x30000010, 4096, 0); break;                            /* munmap: EINVAL */
  case 'h': sys3(4203, (long)buf, 1, 0); break;                                /* getcwd: EINVAL */
  case 'i': sys3(4045, b + 8192, 0, 0); sys3(4045, b + 10, 0, 0); sys3(4045, b + 20, 0, 0); break;
  case 'j': sys3(4054, 8, 0x5401, 0); break;                                   /* ioctl: EBADF */
  case 'k': sys3(4076, 3, 0x7ffffff0, 0); break;                               /* getrlimit: EFAULT */
  }
  sys3(4001, 0, 0, 0);
  for (;;) ;
}
"""
REFUSALS = {
    "a": r"syscall readlink \(4085\) .* is not provable yet \(it fails with errno 2\)",
    "b": r"syscall statx \(4366\) .* is not provable yet \(it fails with errno 2\)",
    "c": r"syscall statx \(4366\) .* is not provable yet \(it fails with errno 9\)",
    "d": r"syscall getrandom \(4353\) .* is not provable yet \(the proof holds the first \d+ bytes",
    "e": r"syscall mmap2 \(4210\) .* is not provable yet \(only anonymous, non-MAP_FIXED",
    "f": r"syscall mmap2 \(4210\) .* is not provable yet \(it fails with errno 89\)",
    "g": r"syscall munmap \(4091\) .* is not provable yet \(it fails with errno 22\)",
    "h": r"syscall getcwd \(4203\) .* is not provable yet \(it fails with errno 22\)",
    "i": r"syscall brk \(4045\) .* is not provable yet \(brk grows to 0x[0-9a-f]+ after a shrink",
    "j": r"syscall ioctl \(4054\) .* is not provable yet \(it fails with errno 9\)",
    "k": r"syscall getrlimit \(4076\) .* is not provable yet \(EFAULT",
}


def _compile(tmp_path_factory, source: str, name: str) -> bytes:
    d = tmp_path_factory.mktemp(name)
    (d / "g.c").write_text(source)
    subprocess.run(["mipsel-linux-gnu-gcc", "-O1", "-static", *CFLAGS, "-o", str(d / "g.elf"), str(d / "g.c")],
                   check=True, env={**os.environ, "LC_ALL": "C"})
    return (d / "g.elf").read_bytes()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return Run(_compile(tmp_path_factory, GUEST, "kernguest"))


@pytest.fixture(scope="module")
def refused_elf(tmp_path_factory):
    return _compile(tmp_path_factory, REFUSED, "refused")


def _records(elf: bytes, public: bytes = PUBLIC):
    program = vm.load_elf(elf)
    ex = Executor.for_program(program, public, PRIVATE)
    log = SyscallLog.attach(ex)
    ex.run(1 << 22)
    return program, ex, log.records


# ----------------------------------------------------------------------------- the blobs
def test_the_blobs_are_the_kernels_bytes():
    """Every blob is what vm.syscalls writes (spot checks against an independent run of
    the kernel on other arguments), and the layout puts the getrandom stream last."""
    lay = S.blob_layout()
    assert max(lay.base.values()) == lay.base["random"] and len(lay.data) == lay.base["random"] + S.RANDOM_BYTES

    def blob(name):
        return lay.data[lay.base[name]: lay.base[name] + lay.size[name]]
    mem = Memory(all_mapped=True)
    k = Kernel()
    assert k.dispatch(4353, [0x5000, 100, 0, 0, 0, 0], mem, 0, 0) == (100, 0)
    assert k.dispatch(4353, [0x6000, 10, 0, 0, 0, 0], mem, 0, 0) == (10, 0)
    assert mem.read(0x5000, 100) == blob("random")[:100] and mem.read(0x6000, 10) == blob("random")[128:138]
    mem.write(0x7000, b"\0")
    for fd in range(4):
        assert k.dispatch(4366, [fd, 0x7000, 0, 0, 0x8000, 0], mem, 0, 0) == (0, 0)
        assert mem.read(0x8000, 256) == blob(f"statx{fd}")
    for resource in (0, 2, 3, 4, 0x103, 0xFFFFFFFF):
        assert k.dispatch(4076, [resource, 0x9000, 0, 0, 0, 0], mem, 0, 0) == (0, 0)
        assert mem.read(0x9000, 8) == blob("rlimit_stack" if resource == 3 else "rlimit_other")
    assert blob("proc_self_exe") == b"/proc/self/exe\0" and blob("nul") == b"\0"


def test_constant_calls_ignore_their_arguments():
    """The constant table's answers (now also lseek/_llseek/open/access...) do not depend
    on arguments: the VM answers the same for random ones."""
    rng = np.random.default_rng(7)
    for number, answer in S.constant_syscalls().items():
        for _ in range(4):
            args = [int(x) for x in rng.integers(0, 1 << 32, 6)]
            assert Kernel().dispatch(number, args, Memory(all_mapped=True), 1234, 0) == answer, SYSCALL_NAMES[number]
    names = {SYSCALL_NAMES[n] for n in S.constant_syscalls()}
    assert {"_llseek", "lseek", "mremap", "rseq", "set_robust_list", "set_tid_address"} <= names


# ----------------------------------------------------------------------------- real guests
@pytest.mark.parametrize("name", ["hello", "malloc_stress", "sort_search", "private_sum", "qsort_records"])
def test_glibc_guests_syscalls_are_provable(name):
    """The whole syscall record of real glibc guests passes the witness builder (start-up:
    brk, set_thread_area, set_tid_address, set_robust_list, rseq, getrlimit, readlink,
    getrandom, statx; then read/write, _llseek, sysinfo, mmap2/mremap/munmap, a brk
    shrink, exit_group)."""
    program = vm.load_elf(guest(name).read_bytes())
    public, private = b"5 3 9 1\n", b"\x01\x02\x03\x04"
    ex = Executor.for_program(program, public, private)
    log = SyscallLog.attach(ex)
    ex.run(1 << 26)
    res = ex.result()
    wit = S.syscall_witness(log.records, public, private, program.end, res.journal)
    assert wit.publics[0] == res.exit_code
    names = {r.name for r in log.records}
    assert {"getrlimit", "readlink", "getrandom", "statx"} <= names
    if name == "malloc_stress":
        assert {"mmap2", "munmap", "mremap"} <= names and len(wit.kernel) >= 10


@pytest.mark.slow
def test_every_example_guest_is_provable_syscall_wise():
    from tests.conftest import GUEST_BUILD
    elfs = sorted(GUEST_BUILD.glob("*.elf"))
    assert elfs, "run `make guests`"
    public, private = b"some input 12 34\n", b"secret"
    for path in elfs:
        program = vm.load_elf(path.read_bytes())
        ex = Executor.for_program(program, public, private)
        log = SyscallLog.attach(ex)
        ex.run(1 << 27)
        S.syscall_witness(log.records, public, private, program.end, ex.result().journal)


# ----------------------------------------------------------------------------- honest proofs
def test_kernel_calls_prove(run):
    names = [r.name for r in run.records]
    assert len(run.wit.kernel) == sum(n in S.KERNEL_CALLS for n in names) == 19
    proof, statement = run.prove_honestly()
    res = run.result
    assert check_claim(run, proof, statement, PUBLIC, res.journal, res.exit_code)
    # the journal shows what the calls wrote: EXECFN, the random stream, the structs
    lay = S.blob_layout()
    rnd = lay.data[lay.base["random"]:]
    assert res.journal[30:36] == b"/guest" and res.journal[41:44] == b"/gu"
    assert res.journal[50:54] == rnd[:4] and res.journal[57:97] == rnd[32:72]
    assert res.journal[1101:1103] == b"/\0" and res.journal[961:1025] == bytes(64)


def test_the_builder_refuses_what_it_cannot_prove(refused_elf):
    for case, pattern in REFUSALS.items():
        program, ex, records = _records(refused_elf, case.encode())
        with pytest.raises(ValueError, match="^" + pattern):
            S.syscall_witness(records, case.encode(), PRIVATE, program.end)


# ----------------------------------------------------------------------------- forgeries
def _kidx(wit, name, nth=0):
    return [i for i, k in enumerate(wit.kernel) if k.get(f"is_{name}")][nth]


def _hidx(wit, ts):
    return next(i for i, h in enumerate(wit.header) if h["ts"] == ts)


def _set_access(wit, table, row, name, value):
    wit.accesses["value"][wit.slots.index((table, row, name))] = value


def _set_result(wit, ts, k, r, err=None):
    """The call at ts returns r (and err): header, kernel row, and the v0/a3 writes."""
    h = _hidx(wit, ts)
    wit.header[h]["r"] = r
    _set_access(wit, S.SYSCALL_TABLE, h, "v0w", r)
    if err is not None:
        wit.header[h]["err"] = err
        _set_access(wit, S.SYSCALL_TABLE, h, "a3w", err)
    if k is not None:
        for j in range(4):
            wit.kernel[k][f"r_{j}"] = (r >> (8 * j)) & 0xFF
        if err is not None:
            wit.kernel[k]["err"] = err


def _io_rows(wit, ts, kind):
    return [j for j, r in enumerate(wit.io) if r["ts"] == ts and r["kind"] == kind]


def _set_word(wit, j, value):
    wit.io[j]["w"] = value
    _set_access(wit, S.IO_TABLE, j, "w", value)


def _reblob(wit, ts, pos0, data=None):
    """The blob copy of the call at ts takes its bytes from position pos0 instead."""
    lay = S.blob_layout()
    k = 0
    for j in _io_rows(wit, ts, S.KIND_BLOB):
        r = wit.io[j]
        take = r["hi"] - r["lo2"] + 1
        wit.blob_counts[r["pos"]: r["pos"] + take] -= 1
        r["pos"] = pos0 + k
        wit.blob_counts[r["pos"]: r["pos"] + take] += 1
        w = r["w"]
        for i in range(take):
            b = (lay.data[pos0 + k + i] if data is None else data[k + i])
            shift = 8 * (r["lo2"] + i)
            w = (w & ~(0xFF << shift)) | (b << shift)
        _set_word(wit, j, w)
        k += take


def _forge_other_blob(name, nth=0):
    """getrlimit/prlimit64 of RLIMIT_STACK answered with the other resources' struct."""
    def forge(wit):
        i = _kidx(wit, name, nth)
        lay = S.blob_layout()
        other = lay.base["rlimit_other" if name == "getrlimit" else "prlimit_other"]
        wit.kernel[i].update(eqf=0, pos=other)
        _reblob(wit, wit.kernel[i]["ts"], other)
    return forge


def _forge_other_fd(name):
    """statx/fstat64/fstatat64 answered with fd 0's struct (its inode differs)."""
    def forge(wit):
        i = _kidx(wit, name)
        base = S.blob_layout().base["statx0" if name == "statx" else "fstat0"]
        wit.kernel[i]["pos"] = base
        _reblob(wit, wit.kernel[i]["ts"], base)
    return forge


def _forge_byte(name, nth=0):
    """One byte the call copies is not the kernel's."""
    def forge(wit):
        ts = wit.kernel[_kidx(wit, name, nth)]["ts"]
        j = _io_rows(wit, ts, S.KIND_BLOB)[-1]
        _set_word(wit, j, wit.io[j]["w"] ^ (0x5A << (8 * wit.io[j]["hi"])))
    return forge


def _forge_random_position(wit):
    """The second getrandom re-reads block 2 instead of starting at block 1."""
    i = _kidx(wit, "getrandom", 1)
    wit.kernel[i]["pos"] += 32
    _reblob(wit, wit.kernel[i]["ts"], wit.kernel[i]["pos"])


def _forge_random_counter(wit):
    """The 40-byte getrandom (blocks 1, 2) leaves the counter at 2, not 3 (so block 2
    could be handed out again); the next call (0 bytes) is kept consistent with that."""
    base = S.blob_layout().base["random"]
    for nth, pos, dr in ((1, base + 32, -8), (2, base + 64, 0)):
        i = _kidx(wit, "getrandom", nth)
        wit.kernel[i].update(knew_0=2, pos=pos, dr=dr)
        _set_access(wit, S.KERNEL_TABLE, i, "kc", 2)


def _forge_readlink_count(wit):
    i = _kidx(wit, "readlink")
    _set_result(wit, wit.kernel[i]["ts"], i, 5)


def _forge_ioctl_success(wit):
    i = _kidx(wit, "ioctl")
    _set_result(wit, wit.kernel[i]["ts"], i, 0, 0)


def _forge_llseek_success(wit):
    h = next(i for i, r in enumerate(wit.header) if r["num"] == 4140)
    _set_result(wit, wit.header[h]["ts"], None, 0, 0)


def _forge_mmap_overlap(wit):
    """The second mmap2 returns a region one page higher (overlapping the first)."""
    i = _kidx(wit, "mmap2", 1)
    start = sum(wit.kernel[i][f"knew_{j}"] << (8 * j) for j in range(4)) + 4096
    for j in range(4):
        wit.kernel[i][f"knew_{j}"] = (start >> (8 * j)) & 0xFF
    _set_access(wit, S.KERNEL_TABLE, i, "kc", start)
    _set_result(wit, wit.kernel[i]["ts"], i, start)
    for h in wit.header:                      # later brk calls compare with the forged cursor
        if h["sel"] == "s_brk" and h["ts"] > wit.kernel[i]["ts"]:
            h["cmp"]["cmp_mmap"] = (start, h["a0"])


def _forge_hwm_lowered(wit):
    """The brk shrink also lowers the high-water mark (so a later growth would map pages
    that still hold heap data)."""
    h = [i for i, r in enumerate(wit.header) if r["sel"] == "s_brk"][-1]
    a0 = wit.header[h]["a0"]
    wit.header[h]["hwnew"] = a0
    _set_access(wit, S.SYSCALL_TABLE, h, "hw", a0)


FORGERIES = {
    "getrlimit: the other resources' struct": _forge_other_blob("getrlimit"),
    "prlimit64: the other resources' struct": _forge_other_blob("prlimit64"),
    "statx: another fd's struct": _forge_other_fd("statx"),
    "fstat64: another fd's struct": _forge_other_fd("fstat64"),
    "fstatat64: another fd's struct": _forge_other_fd("fstatat64"),
    "readlink: a wrong byte": _forge_byte("readlink"),
    "uname: a wrong byte": _forge_byte("uname"),
    "getrandom: a wrong byte": _forge_byte("getrandom", 1),
    "sysinfo: a wrong byte": _forge_byte("sysinfo"),
    "getrandom: another stream position": _forge_random_position,
    "getrandom: the counter not advanced": _forge_random_counter,
    "readlink: a wrong count": _forge_readlink_count,
    "ioctl: success": _forge_ioctl_success,
    "_llseek: success": _forge_llseek_success,
    "mmap2: an overlapping region": _forge_mmap_overlap,
    "brk: the shrink lowers the high-water mark": _forge_hwm_lowered,
}


def forged_traces(run, wit):
    """Traces of a forged witness: a forged write flows into the later reads of its cell,
    and the word rows that read memory (journal, path compares) show what they read."""
    sys_acc = wit.accesses
    key, ts, value, write = (np.concatenate([d, sys_acc[n]]) for d, n in
                             zip(run.driver, ("key", "ts", "value", "is_write")))
    value = _propagate(key, ts, value, write.astype(bool), run.image)
    n0 = run.driver[0].size
    wit.accesses["value"] = value[n0:]
    for i, (table, row, name) in enumerate(wit.slots):
        if table == S.IO_TABLE and not wit.io[row]["is_write"]:
            wit.io[row]["w"] = int(value[n0 + i])
    return run.traces(wit, check=False)


def _forged_copy(run):
    wit = copy.deepcopy(run.wit)
    wit.accesses = {k: v.copy() for k, v in wit.accesses.items()}
    return wit


def verify_forgery(run, forge=None):
    """Prove the run's witness as ``forge`` alters it (the prover's checks off) and verify."""
    wit = _forged_copy(run)
    if forge is not None:
        forge(wit)
    return stark.verify(run.pk.vk, run.prove(forged_traces(run, wit), check=False))


def test_forgery_harness_is_honest_without_a_forgery(run):
    """The forged-trace path with no forgery still verifies (so each forgery below is
    rejected for what it changes)."""
    verify_forgery(run)


@pytest.mark.parametrize("what", sorted(FORGERIES))
def test_forged_kernel_effects_are_rejected(run, what):
    with pytest.raises(VerificationError):
        verify_forgery(run, FORGERIES[what])


def test_readlink_of_another_path_is_rejected(tmp_path_factory, monkeypatch):
    """A guest calls readlink("/proc/self/exf") (ENOENT); the prover claims the success
    of "/proc/self/exe", building its witness with a blob table that says "exf": the
    path compare looks up a byte the real blob table does not hold."""
    src = SYS6 + r"""
static char exf[] = "/proc/self/exf";
static char buf[64];
void __start(void) { long n = sys3(4085, (long)exf, (long)buf, 64); sys3(4001, n, 0, 0); for (;;) ; }
"""
    elf = _compile(tmp_path_factory, src, "exf")
    program, _, records = _records(elf)
    rec = next(r for r in records if r.name == "readlink")
    assert (rec.v0, rec.a3) == (2, 1)
    lay = S.blob_layout()
    forged_layout = S.BlobLayout(lay.base, lay.size, lay.data.replace(b"/proc/self/exe\0", b"/proc/self/exf\0"))
    # the record of a success: v0 = 6 and "/guest" written at buf
    buf = rec.args[1]
    words = {}
    for k, b in enumerate(b"/guest"):
        w = (buf + k) & ~3
        words[w] = words.get(w, 0) | (b << (8 * ((buf + k) & 3)))
    rec.v0, rec.a3 = 6, 0
    rec.words_written = [(w, 0, v) for w, v in sorted(words.items())]
    # the real tables and proving key (the run itself has no witness: the builder refuses it)
    monkeypatch.setattr(S, "syscall_witness", lambda *a, **k: None)
    real = Run(elf)
    monkeypatch.undo()
    try:
        S.blobs._LAYOUT = forged_layout
        wit = S.syscall_witness(records, PUBLIC, PRIVATE, program.end)
    finally:
        S.blobs._LAYOUT = lay
    proof = real.prove(forged_traces(real, wit), wit.publics, check=False)
    with pytest.raises(VerificationError):
        stark.verify(real.pk.vk, proof)
    # the same witness under the forged table would verify: the table is what rejects it
    with pytest.raises(ValueError, match="it fails with errno 2"):
        S.syscall_witness(_records(elf)[2], PUBLIC, PRIVATE, program.end)


# ----------------------------------------------------------------------------- a whole glibc guest
@pytest.mark.slow        # CI proves hello whole, CPU included (test_guests_proven.py)
def test_hello_syscalls_prove():
    """hello-O2's start-up and I/O calls, proven with the CPU's accesses of the whole run."""
    r = Run(guest("hello").read_bytes())
    assert {"getrlimit", "readlink", "getrandom", "statx"} <= {rec.name for rec in r.records}
    proof = r.prove(r.traces())
    statement = stark.verify(r.pk.vk, proof)
    assert check_claim(r, proof, statement, PUBLIC, r.result.journal, r.result.exit_code)
