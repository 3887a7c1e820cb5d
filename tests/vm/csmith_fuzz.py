"""Differential fuzzing of the VM against qemu-mipsel with random C programs from csmith.

Why: the guest corpus (tests/vm/test_corpus.py) exercises the programs we wrote; the VM
must also run *unseen* static C programs exactly like qemu-mipsel. csmith writes random,
well-defined, integer-only C programs whose output is a checksum of all their globals, so
one changed bit anywhere shows up in stdout. Each seed is compiled at -O0/-O2/-Os/-O3 (the
levels choose different instructions), run under qemu-mipsel (the reference) and
``vm.execute``; stdout, stderr and the exit code must be identical.

Seeds that are not a fair test are skipped, never counted as passes: csmith failing or
running away, a compile failure, or qemu running past its timeout (csmith programs may
legitimately loop for a long time). When qemu kills the program with a signal (a trap for
division by zero, possible with the ``unsafe`` profile), the VM must stop with the matching
error (``InstructionError`` for SIGILL/SIGTRAP/SIGFPE/SIGBUS, ``MemoryFault`` for SIGSEGV)
or, for abort, exit with code 128 + signal as a shell reports it.

Usable as a script::

    python -m tests.vm.csmith_fuzz --count 100 --seed 1 [--levels O2,Os] [--profile unsafe] [--jobs 2]

prints one line per mismatch and a summary line, and exits 1 when anything differed.
Requires the Debian packages csmith and libcsmith-dev (headers in /usr/include/csmith).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

_GUESTS = Path(__file__).resolve().parents[2] / "guests"
# guests/guest_corpus.py is not part of an installed package (see tests/vm/test_corpus.py).
if str(_GUESTS) not in sys.path:
    sys.path.append(str(_GUESTS))
import guest_corpus as corpus  # noqa: E402

import vm  # noqa: E402

CSMITH = "csmith"
CC = "mipsel-linux-gnu-gcc"
CSMITH_INCLUDE = Path("/usr/include/csmith")
OPT_LEVELS = corpus.OPT_LEVELS


@dataclass(frozen=True)
class Profile:
    """csmith options for one kind of program, and how long csmith may take to write one
    (it occasionally runs away; such seeds are skipped)."""

    options: tuple[str, ...]
    generate_timeout: float = 30.0


# Always integer-only (the VM stops on floating-point arithmetic).
# default: csmith's defaults (10 functions, block depth 5, 64-bit math, bitfields, packed
#   structs, divisions) give programs of 1,500-5,000 lines that mostly run in well under a
#   second and cover unaligned accesses, libgcc's 64-bit helpers and jump tables.
# unsafe: no safe-math wrappers, so raw operators reach the ISA (shifts past 31, signed
#   overflow, INT_MIN / -1, division by zero traps). Undefined behaviour does not matter
#   here: both sides run the same binary.
# random: csmith draws its own construct probabilities per seed, for other program shapes;
#   some seeds (3 of the first 8) keep csmith busy far longer, so it gets a short leash.
PROFILES: dict[str, Profile] = {
    "default": Profile(("--no-float",)),
    "unsafe": Profile(("--no-float", "--no-safe-math")),
    "random": Profile(("--no-float", "--random-random"), generate_timeout=10.0),
}
QEMU_TIMEOUT = 5.0
COMPILE_TIMEOUT = 120.0
# qemu-mipsel runs csmith programs at about 200 million instructions a second here, so a
# program that finishes within QEMU_TIMEOUT needs at most ~1e9 cycles; the VM's budget is
# well above that, and reaching it is reported as a mismatch (a VM that loops), not skipped.
MAX_CYCLES = 5_000_000_000
# When qemu dies of a (host) signal, the VM error that stands for the same guest fault.
SIGNAL_ERRORS: dict[int, type[vm.VMError]] = {
    signal.SIGILL: vm.InstructionError, signal.SIGTRAP: vm.InstructionError,
    signal.SIGFPE: vm.InstructionError, signal.SIGBUS: vm.InstructionError,
    signal.SIGSEGV: vm.MemoryFault,
}

MATCH = "match"
MATCH_SIGNAL = "match-killed"
MISMATCH = "mismatch"
SKIP_GENERATE = "skip-generate"
SKIP_COMPILE = "skip-compile"
SKIP_TIMEOUT = "skip-qemu-timeout"


@dataclass(frozen=True)
class Outcome:
    """The verdict for one (seed, level): a status above and, for a mismatch, what differs."""

    seed: int
    level: str
    status: str
    detail: str = ""

    def line(self) -> str:
        return f"seed {self.seed} -{self.level}: {self.status}" + (f": {self.detail}" if self.detail else "")


def missing_tools() -> list[str]:
    """The external programs or headers the fuzzer needs that this machine lacks."""
    missing = [tool for tool in (CSMITH, CC, corpus.QEMU) if shutil.which(tool) is None]
    if not (CSMITH_INCLUDE / "csmith.h").exists():
        missing.append(f"{CSMITH_INCLUDE}/csmith.h (Debian package libcsmith-dev)")
    return missing


def generate(seed: int, workdir: Path, profile: str = "default") -> Path | None:
    """Write csmith's program for ``seed`` and ``profile`` to workdir/s<seed>.c; None when
    csmith fails or runs past the profile's timeout (the seed is skipped).

    The program is edited to print every global's value, not just the final checksum, so a
    mismatch's output already names the first variable that differs (csmith does this when
    run with the argument "1", but the VM always starts a guest with argc = 1).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown csmith profile {profile!r}; expected one of {', '.join(PROFILES)}")
    source, chosen = workdir / f"s{seed}.c", PROFILES[profile]
    # A relative --output, run in workdir: csmith copies its options into the source's header.
    try:
        proc = subprocess.run([CSMITH, "--seed", str(seed), *chosen.options, "--output", source.name],
                              cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=chosen.generate_timeout)
    except subprocess.TimeoutExpired:
        return None
    if proc.returncode != 0 or not source.exists():
        return None
    text = source.read_text()
    marker = "int print_hash_value = 0;"
    if marker not in text:
        raise RuntimeError(f"csmith seed {seed}: no '{marker}' line in the generated program")
    source.write_text(text.replace(marker, "int print_hash_value = 1;", 1))
    return source


def compile_program(source: Path, level: str) -> Path | None:
    """Build ``source`` statically at ``level``; None when gcc fails (the seed is skipped)."""
    elf = source.with_name(f"{source.stem}-{level}.elf")
    proc = subprocess.run([CC, f"-{level}", "-static", f"-I{CSMITH_INCLUDE}", "-w", str(source), "-o", str(elf)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=COMPILE_TIMEOUT,
                          env={**os.environ, "LC_ALL": "C"})
    return elf if proc.returncode == 0 else None


def _first_difference(got: bytes, want: bytes) -> str:
    """Where two outputs first differ, with that line of each, for a one-line report."""
    at = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    start = got.rfind(b"\n", 0, at) + 1  # the outputs agree before ``at``: the same line start

    def line(out: bytes) -> bytes:
        return out[start:].split(b"\n", 1)[0][:80]

    line_number = got.count(b"\n", 0, at) + 1
    return f"first at byte {at} (line {line_number}): vm {line(got)!r}, qemu {line(want)!r}"


def compare(elf: Path, seed: int, level: str, qemu_timeout: float = QEMU_TIMEOUT,
            max_cycles: int = MAX_CYCLES) -> Outcome:
    """Run ``elf`` under qemu-mipsel and the VM and say whether they agree."""
    try:
        want = corpus.run_qemu(elf, timeout=qemu_timeout)
    except subprocess.TimeoutExpired:
        return Outcome(seed, level, SKIP_TIMEOUT, f"qemu ran past {qemu_timeout:g} s")
    try:
        got = vm.execute(vm.load_elf(elf.read_bytes()), max_cycles=max_cycles)
    except vm.VMError as exc:
        expected_error = SIGNAL_ERRORS.get(-want.exit_code)
        if expected_error is not None and isinstance(exc, expected_error):
            return Outcome(seed, level, MATCH_SIGNAL, f"qemu: signal {-want.exit_code}; VM: {exc}")
        qemu_said = f"qemu signal {-want.exit_code}" if want.exit_code < 0 else f"qemu exit {want.exit_code}"
        return Outcome(seed, level, MISMATCH, f"VM stopped ({type(exc).__name__}: {exc}), {qemu_said}")
    if want.exit_code < 0:
        if got.exit_code == 128 - want.exit_code and got.journal == want.stdout:
            return Outcome(seed, level, MATCH_SIGNAL, f"qemu: signal {-want.exit_code}; VM exit {got.exit_code}")
        return Outcome(seed, level, MISMATCH,
                       f"qemu killed by signal {-want.exit_code}, VM exited with {got.exit_code}")
    if got.journal != want.stdout:
        return Outcome(seed, level, MISMATCH, "stdout differs, " + _first_difference(got.journal, want.stdout))
    if got.log != want.stderr:
        return Outcome(seed, level, MISMATCH, "stderr differs, " + _first_difference(got.log, want.stderr))
    if got.exit_code != want.exit_code:
        return Outcome(seed, level, MISMATCH, f"exit code: vm {got.exit_code}, qemu {want.exit_code}")
    return Outcome(seed, level, MATCH)


def check_seed(seed: int, levels: Sequence[str] = OPT_LEVELS, profile: str = "default", keep: Path | None = None,
               qemu_timeout: float = QEMU_TIMEOUT, max_cycles: int = MAX_CYCLES) -> list[Outcome]:
    """Generate (csmith ``profile``), compile and compare one seed at every level in ``levels``.

    Files live in a temporary directory; when a level mismatches and ``keep`` is given, the
    source and ELF files are copied to keep/s<seed>/ for the bug report.
    """
    for level in levels:
        if level not in OPT_LEVELS:
            raise ValueError(f"unknown optimisation level {level!r}; expected one of {OPT_LEVELS}")
    with tempfile.TemporaryDirectory(prefix="csmith-") as tmp:
        source = generate(seed, Path(tmp), profile)
        if source is None:
            return [Outcome(seed, level, SKIP_GENERATE) for level in levels]
        outcomes = []
        for level in levels:
            elf = compile_program(source, level)
            if elf is None:
                outcomes.append(Outcome(seed, level, SKIP_COMPILE))
            else:
                outcomes.append(compare(elf, seed, level, qemu_timeout, max_cycles))
        if keep is not None and any(o.status == MISMATCH for o in outcomes):
            shutil.copytree(tmp, Path(keep) / f"s{seed}", dirs_exist_ok=True)
        return outcomes


def summary(outcomes: Iterable[Outcome]) -> str:
    """One line: how many runs matched, differed and were skipped, by reason."""
    counts = Counter(o.status for o in outcomes)
    total = sum(counts.values())
    parts = [f"{counts.get(MATCH, 0)} matched", f"{counts.get(MISMATCH, 0)} mismatched"]
    others = (MATCH_SIGNAL, SKIP_GENERATE, SKIP_COMPILE, SKIP_TIMEOUT)
    parts += [f"{counts[s]} {s}" for s in others if counts.get(s)]
    return f"csmith: {total} runs: " + ", ".join(parts)


def _check_seed_job(args: tuple[int, tuple[str, ...], str, str | None, float, int]) -> list[Outcome]:
    seed, levels, profile, keep, qemu_timeout, max_cycles = args
    return check_seed(seed, levels, profile, Path(keep) if keep else None, qemu_timeout, max_cycles)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.vm.csmith_fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10, help="number of seeds (default 10)")
    parser.add_argument("--seed", type=int, default=1, help="first seed (default 1)")
    parser.add_argument("--levels", default=",".join(OPT_LEVELS), help="comma-separated, default O0,O2,Os,O3")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="default",
                        help="csmith options, see PROFILES (default %(default)s)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds checked in parallel (default 1)")
    parser.add_argument("--keep", metavar="DIR", help="copy the files of mismatching seeds to DIR/s<seed>/")
    parser.add_argument("--qemu-timeout", type=float, default=QEMU_TIMEOUT, help="seconds (default %(default)s)")
    parser.add_argument("--max-cycles", type=int, default=MAX_CYCLES, help="VM budget (default %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every outcome, not only mismatches")
    args = parser.parse_args(argv)
    args.levels = tuple(level.strip().lstrip("-") for level in args.levels.split(",") if level.strip())
    bad = [level for level in args.levels if level not in OPT_LEVELS]
    if bad or not args.levels:
        parser.error(f"--levels: unknown level {bad[0] if bad else '(none)'}; "
                     f"expected some of {','.join(OPT_LEVELS)}")
    if args.count < 1 or args.jobs < 1:
        parser.error("--count and --jobs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"csmith_fuzz: missing {', '.join(missing)} (apt-get install csmith libcsmith-dev "
              "gcc-mipsel-linux-gnu qemu-user)", file=sys.stderr)
        return 2
    jobs = [(seed, args.levels, args.profile, args.keep, args.qemu_timeout, args.max_cycles)
            for seed in range(args.seed, args.seed + args.count)]
    outcomes: list[Outcome] = []

    def report(batch: list[Outcome]) -> None:
        for outcome in batch:
            if args.verbose or outcome.status == MISMATCH:
                print(outcome.line(), flush=True)
        outcomes.extend(batch)

    if args.jobs == 1:
        for job in jobs:
            report(_check_seed_job(job))
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for batch in pool.map(_check_seed_job, jobs):
                report(batch)
    print(f"{summary(outcomes)} (seeds {args.seed}..{args.seed + args.count - 1}, "
          f"levels {','.join(args.levels)}, profile {args.profile})")
    return 1 if any(o.status == MISMATCH for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
