"""Loading static little-endian MIPS32 ELF executables (pyelftools does the parsing).

Only what Linux would run as a static mipsel binary is accepted; everything else is
refused with an :class:`ElfError` whose message says, in one line, what is wrong.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError as _PyElfError
from elftools.elf.elffile import ELFFile

from vm.errors import ElfError

PF_X = 1
EF_MIPS_ARCH = 0xF0000000
_ARCH_NAMES = {0x00000000: "MIPS I", 0x10000000: "MIPS II", 0x20000000: "MIPS III",
               0x30000000: "MIPS IV", 0x40000000: "MIPS V", 0x50000000: "MIPS32",
               0x60000000: "MIPS64", 0x70000000: "MIPS32r2", 0x80000000: "MIPS64r2",
               0x90000000: "MIPS32r6", 0xA0000000: "MIPS64r6"}
_SUPPORTED_ARCHES = {0x00000000, 0x10000000, 0x50000000, 0x70000000}
MAX_ELF_BYTES = 256 << 20


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD segment: ``data`` is placed at ``vaddr``; bytes up to ``memsz`` are zero."""
    vaddr: int
    data: bytes
    memsz: int
    flags: int

    @property
    def executable(self) -> bool:
        return bool(self.flags & PF_X)


@dataclass(frozen=True)
class Program:
    """A loaded MIPS program: what the VM needs to build its initial state."""
    entry: int
    segments: tuple[Segment, ...]
    phdr_vaddr: int        # where the program headers sit in memory (AT_PHDR)
    phentsize: int
    phnum: int
    name: str = "guest"
    raw_size: int = field(default=0, compare=False)

    @property
    def end(self) -> int:
        """First address past the highest segment (where the heap starts)."""
        return max(s.vaddr + s.memsz for s in self.segments)


def load_elf(source: bytes | bytearray | str, name: str | None = None) -> Program:
    """Parse and validate a static mipsel ELF executable (bytes or a file path)."""
    if isinstance(source, str):
        try:
            with open(source, "rb") as f:
                data = f.read(MAX_ELF_BYTES + 1)
        except OSError as e:
            raise ElfError(f"cannot read {source}: {e.strerror}") from None
        name = name or source.rsplit("/", 1)[-1]
    else:
        data = bytes(source)
    if len(data) > MAX_ELF_BYTES:
        raise ElfError(f"ELF file larger than {MAX_ELF_BYTES >> 20} MiB")
    _check_identification(data)
    try:
        return _parse(data, name or "guest")
    except ElfError:
        raise
    except (_PyElfError, ValueError, KeyError, IndexError, TypeError, AssertionError, OSError) as e:
        raise ElfError(f"truncated or corrupt ELF file ({_first_line(e)})") from None
    except Exception as e:  # construct raises its own StreamError types
        raise ElfError(f"truncated or corrupt ELF file ({type(e).__name__}: {_first_line(e)})") from None


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _check_identification(data: bytes) -> None:
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise ElfError("not an ELF file (bad magic number)")
    if len(data) < 52:
        raise ElfError(f"truncated ELF file: {len(data)} bytes, shorter than an ELF header")
    if data[4] == 2:
        raise ElfError("64-bit ELF file: expected a 32-bit (ELF32) MIPS executable")
    if data[4] != 1:
        raise ElfError(f"bad ELF class {data[4]}")
    if data[5] == 2:
        raise ElfError("big-endian ELF file: this VM runs little-endian MIPS (build with mipsel-linux-gnu-gcc)")
    if data[5] != 1:
        raise ElfError(f"bad ELF data encoding {data[5]}")


def _parse(data: bytes, name: str) -> Program:
    elf = ELFFile(io.BytesIO(data))
    hdr = elf.header
    if hdr["e_machine"] != "EM_MIPS":
        raise ElfError(f"ELF file for machine {hdr['e_machine']}, expected EM_MIPS")
    arch = hdr["e_flags"] & EF_MIPS_ARCH
    if arch not in _SUPPORTED_ARCHES:
        raise ElfError(f"ELF built for {_ARCH_NAMES.get(arch, hex(arch))}: this VM runs MIPS32 release 2")
    if hdr["e_type"] != "ET_EXEC":
        kind = "a shared object or position-independent executable" if hdr["e_type"] == "ET_DYN" else hdr["e_type"]
        raise ElfError(f"not a static executable ({kind}): link with -static -no-pie")
    segments = []
    phdr_vaddr = 0
    for seg in elf.iter_segments():
        ptype = seg["p_type"]
        if ptype in ("PT_INTERP", "PT_DYNAMIC"):
            raise ElfError("dynamically linked executable: link with -static")
        if ptype != "PT_LOAD":
            continue
        off, filesz, memsz, vaddr = seg["p_offset"], seg["p_filesz"], seg["p_memsz"], seg["p_vaddr"]
        if filesz and off + filesz > len(data):     # a bss-only segment's offset may lie past the end
            raise ElfError(f"truncated ELF file: segment at 0x{vaddr:08x} needs bytes up to {off + filesz}, file has {len(data)}")
        if memsz < filesz or vaddr + memsz > 1 << 32:
            raise ElfError(f"corrupt ELF segment at 0x{vaddr:08x}")
        segments.append(Segment(vaddr, data[off: off + filesz], memsz, seg["p_flags"]))
        if off <= hdr["e_phoff"] < off + filesz:
            phdr_vaddr = vaddr + hdr["e_phoff"] - off
    if not segments:
        raise ElfError("ELF file has no loadable segment")
    entry = hdr["e_entry"]
    if not any(s.executable and s.vaddr <= entry < s.vaddr + s.memsz for s in segments):
        raise ElfError(f"entry point 0x{entry:08x} is not in an executable segment")
    return Program(entry=entry, segments=tuple(segments), phdr_vaddr=phdr_vaddr,
                   phentsize=hdr["e_phentsize"], phnum=hdr["e_phnum"], name=name, raw_size=len(data))
