"""The Program table: a fetch can only return the decoded instruction the ELF holds at pc."""

from __future__ import annotations

import numpy as np
import pytest

import vm
from prover import stark
from prover.air import System, Table
from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import program as P
from prover.zkmips.spec import BUS_PROGRAM
from tests.conftest import guest
from vm import isa


def fetch_driver() -> Table:
    """Plays the CPU: receives one program row per executed cycle (mult = is_real)."""
    t = Table("fetch")
    cols = t.mains(*P.FIELDS[1:])
    real = t.main("is_real")
    t.assert_bool(real)
    t.receive(BUS_PROGRAM, cols, real)
    return t


@pytest.fixture(scope="module")
def hello():
    program = vm.load_elf(guest("hello").read_bytes())
    pk = stark.setup(System([P.build_program_table(program), fetch_driver()]), FAST)
    rows = P.program_rows(program)
    executed = np.concatenate([c.rows for c in vm.trace(program, b"zk").chunks])[:, 0]
    return program, pk, rows, executed


def _fetch_trace(rows: np.ndarray, executed: np.ndarray) -> np.ndarray:
    by_pc = {int(pc): i for i, pc in enumerate(rows[:, 1]) if rows[i, 0]}
    picked = rows[[by_pc[int(pc)] for pc in executed], 1:]
    height = 1 << (len(executed) - 1).bit_length()
    out = np.zeros((height, picked.shape[1] + 1), dtype=np.uint32)
    out[: len(executed), :-1] = picked
    out[: len(executed), -1] = 1
    return out


def _prove(pk, rows, executed, fetch=None, count=None, check=True):
    traces = {"program": P.program_trace(rows, executed) if count is None else count,
              "fetch": _fetch_trace(rows, executed) if fetch is None else fetch}
    return stark.prove(pk, traces, check=check)


def test_decoding_comes_from_the_vm(hello):
    program, _, rows, _ = hello
    text = next(s for s in program.segments if s.executable)
    word = int.from_bytes(text.data[:4], "little")
    assert rows[0, 1] == text.vaddr
    assert rows[0, 2] == isa.decode(word)
    words = np.frombuffer(text.data[: len(text.data) & ~3], dtype="<u4")
    ops = [int(isa.decode(int(w))) for w in words]
    fetchable = [P.control_word(0, int(w))["valid"] for w in words]
    assert rows[:, 0].sum() == sum(fetchable) and sum(fetchable) > 0.8 * len(words)
    assert all(not f for op, f in zip(ops, fetchable) if isa.MNEMONICS[op] in ("invalid", "fpu", "break"))


def test_honest_fetches_verify(hello):
    _, pk, rows, executed = hello
    stark.verify(pk.vk, _prove(pk, rows, executed[:4096]))


def test_fetching_a_differently_decoded_instruction_is_rejected(hello):
    _, pk, rows, executed = hello
    executed = executed[:4096]
    fetch = _fetch_trace(rows, executed)
    addu = isa.OP["addu"]
    k = int(np.argmax(fetch[:, 1] != addu))
    fetch[k, 1] = addu                                   # claim another operation at that pc
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, _prove(pk, rows, executed, fetch=fetch, check=False))


def test_fetching_an_instruction_that_is_not_in_the_program_is_rejected(hello):
    _, pk, rows, executed = hello
    executed = executed[:4096]
    fetch = _fetch_trace(rows, executed)
    fetch[3, 0] += 4 * 1024 * 1024                       # a pc far outside the text
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, _prove(pk, rows, executed, fetch=fetch, check=False))


def test_a_padding_row_cannot_be_fetched(hello):
    _, pk, rows, executed = hello
    executed = executed[:4000]
    count = P.program_trace(rows, executed)
    pad = int(np.argmax(rows[:, 0] == 0))
    count[pad, 0] = 1                                    # fetch the all-zero padding row once
    fetch = _fetch_trace(rows, executed)
    free = len(executed)
    fetch[free, :-1] = rows[pad, 1:]
    fetch[free, -1] = 1
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, _prove(pk, rows, executed, fetch=fetch, count=count, check=False))


def test_executing_outside_the_text_is_refused_before_proving(hello):
    _, _, rows, executed = hello
    with pytest.raises(ValueError, match="not an instruction"):
        P.program_trace(rows, np.append(executed[:10], 0x7FFF0000))
