"""The loader refuses what Linux would not run as a static mipsel program, in one line."""

from __future__ import annotations

import struct

import pytest

import vm
from tests.conftest import guest


@pytest.fixture(scope="module")
def hello_bytes() -> bytes:
    return guest("hello").read_bytes()


def _refused(data: bytes, fragment: str) -> None:
    with pytest.raises(vm.ElfError) as info:
        vm.load_elf(data)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_loads_a_static_guest(hello_bytes):
    program = vm.load_elf(hello_bytes)
    assert program.segments and program.phnum > 0 and program.phdr_vaddr
    assert any(s.executable for s in program.segments)


def test_not_an_elf():
    _refused(b"#!/bin/sh\necho hi\n", "not an ELF")


def test_empty_file():
    _refused(b"", "not an ELF")


def test_truncated(hello_bytes):
    _refused(hello_bytes[:40], "truncated")
    _refused(hello_bytes[: len(hello_bytes) // 2], "truncated")


def test_big_endian(hello_bytes):
    _refused(hello_bytes[:5] + b"\x02" + hello_bytes[6:], "big-endian")


def test_64_bit(hello_bytes):
    _refused(hello_bytes[:4] + b"\x02" + hello_bytes[5:], "64-bit")


def test_wrong_machine(hello_bytes):
    patched = bytearray(hello_bytes)
    struct.pack_into("<H", patched, 18, 62)  # EM_X86_64
    _refused(bytes(patched), "expected EM_MIPS")


def test_shared_object(hello_bytes):
    patched = bytearray(hello_bytes)
    struct.pack_into("<H", patched, 16, 3)  # ET_DYN
    _refused(bytes(patched), "not a static executable")


def test_dynamically_linked(compile_c):
    elf = compile_c("int main(void){return 0;}", extra=("-no-pie",))
    elf_dyn = elf.with_suffix(".dyn")
    import subprocess
    subprocess.run(["mipsel-linux-gnu-gcc", "-O2", "-o", str(elf_dyn), "-x", "c", "-"],
                   input=b"int main(void){return 0;}", check=True)
    data = elf_dyn.read_bytes()
    with pytest.raises(vm.ElfError) as info:
        vm.load_elf(data)
    assert "static" in str(info.value)


def test_host_binary_refused():
    import sys
    with open(sys.executable, "rb") as f:
        data = f.read()
    with pytest.raises(vm.ElfError):
        vm.load_elf(data)


def test_missing_file():
    with pytest.raises(vm.ElfError) as info:
        vm.load_elf("/nonexistent/prog.elf")
    assert "cannot read" in str(info.value)


def test_bss_only_segment_past_the_end_of_the_file(compile_c):
    """ld places a bss-only PT_LOAD (file size 0) at an offset past a small file's end;
    Linux and qemu run it, so the loader must too (nothing is read from the file)."""
    src = "static volatile unsigned t[1024];\nvoid __start(void) { t[3] = 5;\n" \
          "  register long v0 asm(\"$2\") = 4001; register long a0 asm(\"$4\") = t[3];\n" \
          "  asm volatile(\"syscall\" :: \"r\"(v0), \"r\"(a0)); for (;;) ; }\n"
    elf = compile_c(src, "-O1", ("-nostdlib", "-mno-abicalls", "-fno-pic")).read_bytes()
    program = vm.load_elf(elf)
    assert any(len(s.data) == 0 and s.memsz > 0 for s in program.segments)
    assert vm.execute(program).exit_code == 5
