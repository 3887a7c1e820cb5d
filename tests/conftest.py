"""Shared fixtures: where the guests are, and a compiler for tiny test programs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GUEST_BUILD = ROOT / "guests" / "build"
CC = "mipsel-linux-gnu-gcc"


def guest(name: str, level: str = "O2") -> Path:
    """Path of a built example guest; fails (never skips) if `make guests` did not run."""
    path = GUEST_BUILD / f"{name}-{level}.elf"
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make guests` (make test does it)")
    return path


@pytest.fixture(scope="session")
def compile_c(tmp_path_factory):
    """Compile a C snippet into a static mipsel ELF; returns its path."""
    if shutil.which(CC) is None:
        pytest.fail(f"{CC} is not installed: run `make setup`")
    out_dir = tmp_path_factory.mktemp("cc")
    counter = iter(range(10**6))

    def build(source: str, opt: str = "-O2", extra: tuple[str, ...] = ()) -> Path:
        n = next(counter)
        src = out_dir / f"p{n}.c"
        elf = out_dir / f"p{n}.elf"
        src.write_text(source)
        subprocess.run([CC, opt, "-static", "-o", str(elf), str(src), *extra], check=True,
                       env={**os.environ, "LC_ALL": "C"})
        return elf

    return build
