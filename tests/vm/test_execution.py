"""Whole-program behaviour: I/O channels, exit codes, cycle limit, stop and resume, image id."""

from __future__ import annotations

import numpy as np
import pytest

import vm
from tests.conftest import guest
from vm.executor import Executor

ECHO_BOTH = r"""
#include <unistd.h>
int main(void) {
    char buf[256]; ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0) write(1, buf, n);
    while ((n = read(3, buf, sizeof buf)) > 0) write(2, buf, n);
    return 7;
}
"""


@pytest.fixture(scope="module")
def echo_both(compile_c):
    return vm.load_elf(compile_c(ECHO_BOTH).read_bytes())


def test_channels(echo_both):
    result = vm.execute(echo_both, b"public bytes", b"secret bytes")
    assert result.journal == b"public bytes"
    assert result.log == b"secret bytes"
    assert result.exit_code == 7
    assert result.cycles > 0


FD_GAMES = r"""
#include <stdio.h>
#include <unistd.h>
#include <time.h>
int main(void) {
    sleep(2);                                   /* returns at once: no host time */
    int saved = dup(2);
    dup2(1, 2);                                 /* the log now goes to the journal */
    fprintf(stderr, "to journal\n");
    dup2(saved, 2);
    fprintf(stderr, "to log\n");
    close(1);
    return write(1, "x", 1) == -1 ? 9 : 1;      /* EBADF after close */
}
"""


def test_file_descriptor_table(compile_c):
    result = vm.execute(vm.load_elf(compile_c(FD_GAMES).read_bytes()))
    assert result.journal == b"to journal\n"
    assert result.log == b"to log\n"
    assert result.exit_code == 9


def test_cycle_limit(compile_c):
    program = vm.load_elf(compile_c("int main(void){ volatile int x = 0; for(;;) x++; }").read_bytes())
    with pytest.raises(vm.CycleLimitExceeded) as info:
        vm.execute(program, max_cycles=100_000)
    assert "100000 cycles" in str(info.value)


def test_exact_cycle_budget(echo_both):
    cycles = vm.execute(echo_both, b"x").cycles
    assert vm.execute(echo_both, b"x", max_cycles=cycles).exit_code == 7
    with pytest.raises(vm.CycleLimitExceeded):
        vm.execute(echo_both, b"x", max_cycles=cycles - 1)


def test_oversized_input(echo_both):
    with pytest.raises(vm.InputTooLarge):
        vm.execute(echo_both, bytes(65 << 20))


def test_unsupported_syscall(compile_c):
    program = vm.load_elf(compile_c(
        "#include <unistd.h>\n#include <sys/syscall.h>\nint main(void){ return syscall(4000 + 400); }").read_bytes())
    with pytest.raises(vm.SyscallError) as info:
        vm.execute(program)
    assert "4400" in str(info.value) and "pc 0x" in str(info.value)


def test_floating_point_is_refused(compile_c):
    program = vm.load_elf(compile_c(
        "#include <stdio.h>\nint main(int c, char**v){ volatile double d = c; printf(\"%f\\n\", d * 1.5); return 0; }").read_bytes())
    with pytest.raises(vm.InstructionError) as info:
        vm.execute(program)
    assert "floating-point" in str(info.value) and "pc 0x" in str(info.value)


def _final_state(ex: Executor):
    return (ex.exit_code, ex.cycles, bytes(ex.kernel.journal), ex.regs.copy())


@pytest.mark.parametrize("piece", [1, 7, 1000, 4093])
def test_stop_and_resume_is_exact(piece):
    program = vm.load_elf(guest("sha256").read_bytes())
    data = b"stop and resume " * 64
    whole = Executor.for_program(program, data)
    whole.run(1 << 40)
    pieces = Executor.for_program(program, data)
    k = 0
    while not pieces.halted:
        pieces.run(piece if k < 20_000 else 50_000)   # fine pieces at the start, then coarser
        if k % 97 == 0:
            pieces = pieces.snapshot()      # resume from a copy: nothing leaks between pieces
        k += 1
    a, b = _final_state(whole), _final_state(pieces)
    assert a[:3] == b[:3]
    assert np.array_equal(a[3], b[3])


def test_image_id_stable_and_sensitive():
    data = guest("hello").read_bytes()
    first = vm.image_id(data)
    assert len(first) == 32 and vm.image_id(data) == first
    program = vm.load_elf(data)
    text = next(s for s in program.segments if s.executable)
    offset = data.index(text.data[256:288])
    changed = bytearray(data)
    changed[offset + 3] ^= 0x01
    assert vm.image_id(bytes(changed)) != first
    assert vm.image_id(guest("hello", "O0").read_bytes()) != first


def test_tracer_matches_executor():
    program = vm.load_elf(guest("hello").read_bytes())
    plain = vm.execute(program, b"tracer")
    traced = vm.trace(program, b"tracer", chunk_rows=1000)
    assert traced.result.journal == plain.journal
    assert traced.rows == plain.cycles
    rows = np.concatenate([c.rows for c in traced.chunks])
    assert rows.shape[0] == plain.cycles
    # consecutive rows chain: each row's pc is the previous row's next_pc (or a syscall's)
    assert np.all(rows[1:, 0] == rows[:-1, 1])
