"""The VM against qemu-mipsel on random csmith programs (see tests/vm/csmith_fuzz.py).

A fixed list of seeds, chosen because every one compiles and finishes quickly under qemu at
all four levels, so a skipped run here is a failure too: a skip would hide that the list no
longer tests what it claims (another csmith version generates other programs). The default
suite runs three seeds at -O2; the full list at every level is marked slow. Large random
sweeps are run by hand: ``python -m tests.vm.csmith_fuzz --count 300``.

csmith (Debian packages csmith and libcsmith-dev) is a test-only tool: without it these
tests skip on a developer's machine and fail under CI (CI=true), where it must be installed.
"""

from __future__ import annotations

import os

import pytest

try:  # tests/vm may or may not be imported as a package
    from . import csmith_fuzz as fuzz
except ImportError:
    import csmith_fuzz as fuzz  # type: ignore[no-redef]

FAST_SEEDS = (1, 2, 3)
FAST_LEVEL = "O2"
# Seeds 20 and 22 run for minutes (csmith's loops are long, not infinite): left out.
SLOW_SEEDS = tuple(s for s in range(1, 33) if s not in (20, 22))


def _require_tools() -> None:
    missing = fuzz.missing_tools()
    if not missing:
        return
    message = f"missing {', '.join(missing)}: apt-get install csmith libcsmith-dev (make setup)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _assert_all_match(seed: int, levels: tuple[str, ...]) -> None:
    _require_tools()
    outcomes = fuzz.check_seed(seed, levels)
    bad = [o.line() for o in outcomes if o.status != fuzz.MATCH]
    assert not bad, ("not a clean match with qemu-mipsel (reproduce with `python -m tests.vm.csmith_fuzz "
                     f"--seed {seed} --count 1 -v`): " + "; ".join(bad))


@pytest.mark.parametrize("seed", FAST_SEEDS)
def test_csmith_seed_o2(seed: int):
    _assert_all_match(seed, (FAST_LEVEL,))


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_csmith_seed_all_levels(seed: int):
    _assert_all_match(seed, fuzz.OPT_LEVELS)


def test_comparison_can_fail(compile_c):
    """Guard against a vacuous comparison: a program the VM refuses (floating-point
    arithmetic) must be a mismatch, and an integer program that agrees must be a match."""
    _require_tools()
    float_elf = compile_c('#include <stdio.h>\nvolatile double x = 1.5;\n'
                          'int main(void) { printf("%d\\n", (int)(x * 3.0)); return 0; }\n')
    refused = fuzz.compare(float_elf, seed=0, level="O2")
    assert refused.status == fuzz.MISMATCH and "floating-point" in refused.detail
    exit_elf = compile_c('#include <stdio.h>\nint main(void) { puts("ok"); return 3; }\n')
    assert fuzz.compare(exit_elf, seed=0, level="O2").status == fuzz.MATCH


def test_program_killed_under_qemu_must_stop_the_vm(compile_c):
    """A division-by-zero trap or a wild store kills qemu's process; the VM must stop with the
    matching error, and abort() must give exit code 128 + SIGABRT, as a shell reports it."""
    _require_tools()
    trap = compile_c('volatile int zero = 0;\nint main(void) { return 10 / zero; }\n')
    outcome = fuzz.compare(trap, seed=0, level="O2")
    assert outcome.status == fuzz.MATCH_SIGNAL and "teq" in outcome.detail, outcome.line()
    segv = compile_c('int main(void) { *(volatile int *)16 = 1; return 0; }\n')
    outcome = fuzz.compare(segv, seed=0, level="O2")
    assert outcome.status == fuzz.MATCH_SIGNAL and "unmapped" in outcome.detail, outcome.line()
    aborts = compile_c('#include <stdlib.h>\nint main(void) { abort(); }\n')
    outcome = fuzz.compare(aborts, seed=0, level="O2")
    assert outcome.status == fuzz.MATCH_SIGNAL and "VM exit 134" in outcome.detail, outcome.line()


def test_generated_program_prints_every_global(tmp_path):
    """The generator turns on csmith's per-variable output and is deterministic per seed."""
    _require_tools()
    first = fuzz.generate(7, tmp_path)
    assert first is not None and "int print_hash_value = 1;" in first.read_text()
    (tmp_path / "again").mkdir()
    again = fuzz.generate(7, tmp_path / "again")
    assert again is not None and again.read_text() == first.read_text()
    with pytest.raises(ValueError, match="unknown csmith profile"):
        fuzz.generate(7, tmp_path, profile="nonsense")


def test_summary_counts_each_status():
    outcomes = [fuzz.Outcome(1, "O0", fuzz.MATCH), fuzz.Outcome(1, "O2", fuzz.MISMATCH, "stdout differs"),
                fuzz.Outcome(2, "O0", fuzz.SKIP_TIMEOUT)]
    assert fuzz.summary(outcomes) == "csmith: 3 runs: 1 matched, 1 mismatched, 1 skip-qemu-timeout"
    assert fuzz._first_difference(b"a\nbx\n", b"a\nby\n") == "first at byte 3 (line 2): vm b'bx', qemu b'by'"
    assert fuzz._first_difference(b"a\nb", b"a\nb\n") == "first at byte 3 (line 2): vm b'b', qemu b'b'"
