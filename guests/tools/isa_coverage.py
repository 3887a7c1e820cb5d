"""Which MIPS32r2 instructions does the guest corpus actually execute?

The differential test only proves the VM right on instructions the corpus runs, so this
report lists, for each instruction family of the design brief, the mnemonics executed by
the corpus (all programs at all optimisation levels) under qemu-mipsel and the ones never
executed. Executed addresses come from qemu's translation log (``-d in_asm``: every
translated block, and every instruction in a block runs); each address is named by
``objdump -M no-aliases`` so that aliases (move, nop, b, bal, negu...) count as the real
instruction. It also lists floating-point instructions that run (glibc's setjmp/longjmp
save $f20-$f31 with sdc1/ldc1), which an integer-only VM must still accept or reject.

Usage:  python guests/tools/isa_coverage.py [--json out.json] [program ...]
Exit status 1 when a required integer mnemonic is never executed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import guest_corpus as corpus  # noqa: E402

OBJDUMP = "mipsel-linux-gnu-objdump"

# The integer instruction families of MIPS32r2 that gcc -O0..-O3 and static glibc emit
# (design.md, "vm"), by canonical (no-aliases) mnemonic.
FAMILIES: dict[str, tuple[str, ...]] = {
    "arith": ("addu", "addiu", "subu", "lui", "slt", "sltu", "slti", "sltiu"),
    "logic": ("and", "andi", "or", "ori", "xor", "xori", "nor"),
    "shift": ("sll", "srl", "sra", "sllv", "srlv", "srav", "rotr", "rotrv"),
    "mul/div hi-lo": ("mul", "mult", "multu", "div", "divu", "mfhi", "mflo", "mthi", "mtlo"),
    "madd/msub": ("madd", "maddu", "msub", "msubu"),
    "bit ops": ("clz", "clo", "ext", "ins", "seb", "seh", "wsbh"),
    "cond move": ("movn", "movz"),
    "branch": ("beq", "bne", "blez", "bgtz", "bltz", "bgez", "bgezal"),
    "jump": ("j", "jal", "jr", "jalr"),
    "load/store": ("lb", "lbu", "lh", "lhu", "lw", "sb", "sh", "sw"),
    "unaligned": ("lwl", "lwr", "swl", "swr"),
    "atomic": ("ll", "sc", "sync"),
    "system": ("syscall", "rdhwr", "pref"),
    "trap": ("teq", "tne", "tge", "tgeu", "tlt", "tltu", "teqi", "tnei", "tgei", "tgeiu", "tlti", "tltiu"),
}
# Valid but never emitted by gcc for our corpus; listed when seen, not required.
OPTIONAL = ("add", "addi", "sub", "bltzal", "break", "ssnop", "ehb")
FP_PATTERN = re.compile(r"^(?:[a-z]+c1|c\.|bc1|[a-z.]+\.(?:s|d|w|l|ps)$|mfhc1|mthc1)")
# objdump keeps a few aliases even with -M no-aliases.
CANONICAL = {"ror": "rotr", "rorv": "rotrv", "negu": "subu"}
_LOG_LINE = re.compile(r"^0x([0-9a-f]+):")
_DUMP_LINE = re.compile(r"^\s*([0-9a-f]+):\t[0-9a-f]{8} \t(\S+)")


def disassemble(elf: Path) -> dict[int, str]:
    """address -> canonical mnemonic for every instruction of the ELF's code."""
    out = subprocess.run([OBJDUMP, "-d", "-M", "no-aliases", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    return {int(m[1], 16): CANONICAL.get(m[2], m[2]) for m in map(_DUMP_LINE.match, out.splitlines()) if m}


def executed_addresses(g: corpus.Guest, level: str) -> set[int]:
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        corpus.run_qemu(g.elf(level), g.public_input, g.private_input,
                        qemu_args=("-d", "in_asm", "-D", log.name))
        text = Path(log.name).read_text(errors="replace")
    return {int(m[1], 16) for m in map(_LOG_LINE.match, text.splitlines()) if m}


def coverage(names: list[str]) -> dict[str, set[str]]:
    """mnemonic -> the runs ("program-level") that executed it."""
    seen: dict[str, set[str]] = defaultdict(set)
    for name in names:
        g = corpus.guest(name)
        for level in corpus.OPT_LEVELS:
            names_at = disassemble(g.elf(level))
            for addr in executed_addresses(g, level):
                if addr in names_at:
                    seen[names_at[addr]].add(f"{name}-{level}")
    return seen


def report(seen: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """Print the table; return (missing required mnemonics, floating-point mnemonics run)."""
    missing = []
    for family, mnemonics in FAMILIES.items():
        cells = []
        for m in mnemonics:
            runs = seen.get(m, set())
            cells.append(f"{m}:{len(runs)}" if runs else f"{m}:MISSING")
            if not runs:
                missing.append(m)
        print(f"{family:14s} " + " ".join(cells))
    known = {m for ms in FAMILIES.values() for m in ms}
    fp = sorted(m for m in seen if FP_PATTERN.match(m))
    other = sorted(m for m in seen if m not in known and m not in fp)
    print(f"{'other integer':14s} " + " ".join(f"{m}:{len(seen[m])}" for m in other))
    for m in fp:
        progs = sorted({r.rsplit('-', 1)[0] for r in seen[m]})
        print(f"floating point {m}: {len(seen[m])} runs ({', '.join(progs)})")
    print(f"{len(missing)} required mnemonics never executed" + (f": {' '.join(missing)}" if missing else ""))
    return missing, fp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("programs", nargs="*", help="programs to include (default: all)")
    parser.add_argument("--json", type=Path, help="also write mnemonic -> runs as JSON")
    args = parser.parse_args(argv)
    if corpus.missing_elfs():
        print("guest ELF files missing: run `make -C guests` first", file=sys.stderr)
        return 2
    names = args.programs or [g.name for g in corpus.guests()]
    seen = coverage(names)
    missing, _ = report(seen)
    if args.json:
        args.json.write_text(json.dumps({m: sorted(r) for m, r in sorted(seen.items())}, indent=1))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
