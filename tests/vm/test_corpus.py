"""Differential test of the VM against qemu-mipsel on the C guest corpus.

Every program in guests/ at every optimisation level (-O0, -O2, -Os, -O3) runs under
qemu-mipsel (the reference) and under ``vm.execute`` with the same public and private
input; the journal (stdout), the log (stderr) and the exit code must be identical. The
ELF files are built by ``make -C guests`` (``make test`` does it); the test refuses to
guess and fails with that instruction when they are missing.

The full matrix is marked slow; the default run keeps every program at -O2, all four
levels of the programs most sensitive to code generation, and a few extra inputs that
drive programs down other paths (empty input, other exit codes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import vm

_GUESTS = Path(__file__).resolve().parents[2] / "guests"
# guests/guest_corpus.py and guests/tools/isa_coverage.py are not part of an installed package.
for _dir in (_GUESTS, _GUESTS / "tools"):
    if str(_dir) not in sys.path:
        sys.path.append(str(_dir))
import guest_corpus as corpus  # noqa: E402
import isa_coverage  # noqa: E402

# All four levels of these run in the default (non-slow) suite: they are the programs whose
# instruction mix changes most between levels (libgcc calls, ext/ins, lwl/lwr, jump tables).
ALL_LEVELS_FAST = {"bits", "int64_ops", "printf_fmt", "setjmp_unwind"}
FAST_LEVEL = "O2"
# The largest corpus run takes about 31 million cycles (malloc_stress -O0): a VM that loops
# forever fails in seconds instead of hanging the suite.
MAX_CYCLES = 200_000_000

# Extra (public, private) inputs, run at -O2, that take programs down other paths.
VARIANTS = {
    ("hello", "empty"): (b"", b""),
    ("wc", "empty"): (b"", b""),
    ("wc", "no-newline"): (b"one two  three", b""),
    ("exit_code", "sorted"): (b"-5\n0\n0\n12\n", b""),
    ("exit_code", "malformed"): (b"1\n2\nthree\n", b""),
    ("exit_atexit", "exit-zero-at-top"): (b"0 0", b""),
    ("exit_atexit", "_exit-loses-buffer"): (b"37 21 1", b""),
    ("exit_atexit", "return-from-main"): (b"25 4 2", b""),
    ("exit_atexit", "no-input"): (b"", b""),
    ("private_sum", "no-private"): (b"10\n", b""),
    ("private_sum", "negative"): (b"-3", b"-1 -2 -3 -4\n+7 x 12"),
    # Larger than the SDK's first 4 KiB buffer: zkm_read_private_all must grow it.
    ("private_sum", "large-private"): (b"2500", b"\n".join(b"%d" % (i * 7919 % 5003) for i in range(6000))),
    ("sieve", "bad-limit"): (b"3", b""),
}


def _matrix():
    for g in corpus.guests():
        for level in corpus.OPT_LEVELS:
            fast = level == FAST_LEVEL or g.name in ALL_LEVELS_FAST
            yield pytest.param(g.name, level, id=f"{g.name}-{level}",
                               marks=() if fast else (pytest.mark.slow,))


def _require_prerequisites(elf: Path) -> None:
    if not corpus.qemu_available():
        pytest.fail("qemu-mipsel is not installed (Debian package qemu-user); `make setup` installs it")
    if not elf.exists():
        pytest.fail(f"{elf} is missing: build the guest corpus first with `make -C guests` (`make test` does)")


def _assert_same(elf: Path, public: bytes, private: bytes) -> None:
    _require_prerequisites(elf)
    expected = corpus.run_qemu(elf, public, private)
    assert expected.exit_code >= 0, f"qemu-mipsel killed {elf.name} with signal {-expected.exit_code}"
    got = vm.execute(vm.load_elf(elf.read_bytes()), public_input=public, private_input=private,
                     max_cycles=MAX_CYCLES)
    assert got.journal == expected.stdout, f"{elf.name}: journal differs from qemu-mipsel's stdout"
    assert got.log == expected.stderr, f"{elf.name}: log differs from qemu-mipsel's stderr"
    assert got.exit_code == expected.exit_code, f"{elf.name}: exit code {got.exit_code}, qemu says {expected.exit_code}"


def test_corpus_is_complete():
    """The corpus has the programs other parts rely on, and every one was built."""
    names = {g.name for g in corpus.guests()}
    assert len(names) >= 16
    assert {"hello", "private_sum", "exit_code", "setjmp_unwind", "startup_env"} <= names
    missing = corpus.missing_elfs()
    assert not missing, (f"{len(missing)} guest ELF files missing (first: {missing[0].name}); "
                         "run `make -C guests`")


@pytest.mark.parametrize("name,level", list(_matrix()))
def test_vm_matches_qemu(name: str, level: str):
    g = corpus.guest(name)
    _assert_same(g.elf(level), g.public_input, g.private_input)


@pytest.mark.parametrize("name,label", sorted(VARIANTS), ids=lambda v: v)
def test_vm_matches_qemu_other_inputs(name: str, label: str):
    public, private = VARIANTS[(name, label)]
    _assert_same(corpus.guest(name).elf(FAST_LEVEL), public, private)


def test_qemu_runner_detects_a_difference():
    """Guard against a vacuous comparison: different inputs must give different journals
    under qemu, and the private input must reach the guest (private_sum reports a count)."""
    g = corpus.guest("private_sum")
    _require_prerequisites(g.elf(FAST_LEVEL))
    with_private = corpus.run_qemu(g.elf(FAST_LEVEL), b"0", b"1 2 3")
    without = corpus.run_qemu(g.elf(FAST_LEVEL), b"0", b"")
    assert b"3 values" in with_private.stdout and b"0 values" in without.stdout
    assert corpus.run_qemu(corpus.guest("exit_code").elf(FAST_LEVEL), b"2\n1\n").exit_code == 3


@pytest.mark.parametrize("name", ["hello", "printf_fmt", "bits"])
def test_tracer_agrees_with_executor(name: str):
    """The tracer records one row per cycle and ends in the same result as the executor."""
    g = corpus.guest(name)
    _require_prerequisites(g.elf(FAST_LEVEL))
    program = vm.load_elf(g.elf(FAST_LEVEL).read_bytes())
    executed = vm.execute(program, public_input=g.public_input, private_input=g.private_input)
    traced = vm.trace(program, public_input=g.public_input, private_input=g.private_input)
    assert traced.rows == executed.cycles
    assert (traced.result.journal, traced.result.exit_code) == (executed.journal, executed.exit_code)


@pytest.mark.slow
def test_corpus_executes_every_integer_instruction_family():
    """The differential test proves the VM right only on instructions the corpus runs:
    every mnemonic of design.md's integer ISA must run somewhere (under qemu)."""
    if corpus.missing_elfs():
        pytest.fail("guest ELF files missing: run `make -C guests`")
    seen = isa_coverage.coverage([g.name for g in corpus.guests()])
    missing = [m for ms in isa_coverage.FAMILIES.values() for m in ms if m not in seen]
    assert not missing, f"no corpus program executes {missing}"
