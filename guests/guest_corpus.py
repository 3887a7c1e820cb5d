"""The guest corpus as data: which programs exist, their inputs, their ELF files, and how
to run one under qemu-mipsel, the reference emulator.

Shared by the differential test (tests/vm/test_corpus.py), the VM benchmark
(bench/vm.py) and the ISA coverage report (guests/tools/isa_coverage.py), so that all
three agree on the I/O convention: stdin is the public input, fd 3 the private input
(an empty stream when a program has none), stdout the journal, stderr the log, and the
environment is empty (qemu would otherwise hand the host's environment to the guest).

Standard library only: it must import before the VM or the project is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

GUESTS_DIR = Path(__file__).resolve().parent
BUILD_DIR = GUESTS_DIR / "build"
OPT_LEVELS = ("O0", "O2", "Os", "O3")
QEMU = "qemu-mipsel"
PRIVATE_FD = 3


@dataclass(frozen=True)
class Guest:
    """One program of the corpus: guests/<name>/ with its sources and optional inputs."""

    name: str

    @property
    def directory(self) -> Path:
        return GUESTS_DIR / self.name

    @property
    def public_input(self) -> bytes:
        path = self.directory / "input.txt"
        return path.read_bytes() if path.exists() else b""

    @property
    def private_input(self) -> bytes:
        path = self.directory / "private.txt"
        return path.read_bytes() if path.exists() else b""

    def elf(self, level: str) -> Path:
        """The ELF file built by guests/sdk/guest.mk for optimisation level ``level``."""
        if level not in OPT_LEVELS:
            raise ValueError(f"unknown optimisation level {level!r}; expected one of {OPT_LEVELS}")
        return BUILD_DIR / f"{self.name}-{level}.elf"


@dataclass(frozen=True)
class QemuResult:
    stdout: bytes
    stderr: bytes
    exit_code: int
    seconds: float


def guests() -> list[Guest]:
    """Every program directory (one holding a Makefile), except the SDK, sorted by name."""
    return sorted(
        (Guest(p.parent.name) for p in GUESTS_DIR.glob("*/Makefile") if p.parent.name not in {"sdk", "build"}),
        key=lambda g: g.name,
    )


def guest(name: str) -> Guest:
    """The corpus program called ``name``; ValueError if there is none."""
    g = Guest(name)
    if not (g.directory / "Makefile").exists():
        raise ValueError(f"no guest program {name!r} under {GUESTS_DIR}")
    return g


def missing_elfs() -> list[Path]:
    """ELF files the corpus should have but build/ lacks (empty when `make -C guests` ran)."""
    return [g.elf(level) for g in guests() for level in OPT_LEVELS if not g.elf(level).exists()]


def qemu_available() -> bool:
    return shutil.which(QEMU) is not None


def run_qemu(elf: Path | str, public_input: bytes = b"", private_input: bytes = b"",
             timeout: float = 120.0, qemu_args: Sequence[str] = ()) -> QemuResult:
    """Run ``elf`` under qemu-mipsel with the guest I/O convention.

    The private input reaches the guest as fd 3 through a temporary file (qemu-user passes
    the host's descriptors through unchanged); without private input fd 3 is an empty
    file, so that reading it gives end of input, as in the VM, rather than EBADF.
    ``qemu_args`` go before the program (for example ``-d in_asm -D log``).
    """
    with tempfile.TemporaryFile() as pub, tempfile.TemporaryFile() as priv:
        pub.write(public_input)
        pub.seek(0)
        priv.write(private_input)
        priv.seek(0)
        start = time.perf_counter()
        proc = subprocess.run(
            [QEMU, *qemu_args, str(elf)], stdin=pub, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={}, timeout=timeout, pass_fds=(PRIVATE_FD,),
            preexec_fn=lambda: os.dup2(priv.fileno(), PRIVATE_FD),
        )
        seconds = time.perf_counter() - start
    return QemuResult(proc.stdout, proc.stderr, proc.returncode, seconds)
