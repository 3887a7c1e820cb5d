"""`zkmips execute` / `image-id` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, guest

ZKMIPS = [sys.executable, "-m", "zkmips.cli"]


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([*ZKMIPS, *args], input=stdin, capture_output=True, cwd=ROOT, timeout=300)


def test_plain_mode_behaves_like_the_program():
    proc = run("execute", str(guest("hello")), stdin=b"Ada\n")
    assert proc.returncode == 0
    assert b"Ada" in proc.stdout


def test_exit_code_is_the_guests():
    proc = run("execute", str(guest("exit_code")), stdin=b"1\n5\n2\n")
    assert proc.returncode == 3
    assert b"not sorted" in proc.stdout


def test_json_mode(tmp_path):
    inp = tmp_path / "in.txt"
    inp.write_bytes(b"Grace\n")
    proc = run("execute", str(guest("hello")), "--input", str(inp), "--json")
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    assert set(out) == {"exit_code", "cycles", "journal", "image_id", "seconds"}
    assert b"Grace" in bytes.fromhex(out["journal"])
    image = run("image-id", str(guest("hello")))
    assert image.stdout.decode().strip() == out["image_id"]


def test_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"not an elf at all")
    for args in (["execute", str(bad)], ["execute", str(tmp_path / "missing.elf")],
                 ["image-id", str(bad)], ["execute", str(guest("hello")), "--max-cycles", "10"]):
        proc = run(*args)
        assert proc.returncode == 125, args
        lines = proc.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("zkmips: error: "), (args, proc.stderr)
        assert b"Traceback" not in proc.stderr
