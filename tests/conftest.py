"""Shared fixtures: where the guests are, a compiler for tiny test programs, anvil, and
receipts at the preset the on-chain verifier takes."""

from __future__ import annotations

import fcntl
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


@pytest.fixture(scope="session")
def anvil_url():
    """The URL of this test session's anvil (per xdist worker). Without anvil (``make node``
    installs it) the test is skipped, except under CI (``CI=true``), where it fails: CI must
    test the JSON-RPC path it claims to test."""
    from settlement.chain import anvil_path, start_anvil, stop_anvil
    path = anvil_path()
    if not path.exists():
        reason = f"anvil is not installed ({path} is missing; `make node` installs it from npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI=true, so the anvil tests fail instead of skipping", pytrace=False)
        pytest.skip(reason)
    process, url = start_anvil()
    yield url
    stop_anvil(process)


def chain_receipt(cache: Path, name: str, public_input: bytes, private_input: bytes = b"", *,
                  split: bool = False) -> bytes:
    """A receipt of guest ``name`` at the preset chain-settled jobs are proven at, proven once
    per test run into ``cache`` (a file lock keeps xdist workers from proving it twice);
    ``split``: a one-segment run in the split layout (a memory proof and a segment proof)."""
    from prover.keccak import keccak256
    from prover.zkmips import segment_receipt as SR
    from prover.zkmips import segments as SG
    from prover.zkmips.receipt import params_of
    from settlement.deployment import CHAIN_PRESET
    params = params_of(CHAIN_PRESET, allow_insecure=False)
    key = keccak256(public_input + b"|" + private_input).hex()[:12]
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{name}-{CHAIN_PRESET}-{SR.receipt_tag(params)}-{key}{'-split' if split else ''}.rcpt"
    with open(cache / "prove.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            runner = SG.LocalRunner(1)
            try:
                data = SR.prove_segmented(guest(name).read_bytes(), public_input, private_input, params=params,
                                          runner=runner, join_single_segment=not split).encode()
            finally:
                runner.close()
            path.write_bytes(data)
    return path.read_bytes()
