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


@pytest.mark.parametrize("mnemonic", ["ldc1", "sdc1"])
@pytest.mark.parametrize("ft", [20, 21])
def test_double_moves_are_fetchable_with_both_words(mnemonic, ft):
    """ldc1/sdc1: the first word travels as lw/sw (the even FPR in d or b), the second
    one through the CPU's e/f accesses (is_dbl, key_e: the odd FPR); an odd ft names the
    same pair, as in the VM (ft & 30)."""
    from tests.vm.mips_asm import encode
    from vm.layout import FPR0

    f = P.control_word(0x1000, encode(mnemonic, ft, -8, 29))
    pair = P.reg_key(FPR0 + (ft & 30))
    load = mnemonic == "ldc1"
    assert f["valid"] == 1 and f["is_mem"] == 1 and f["is_dbl"] == 1 and f["is_store"] == int(not load)
    assert f["memop"] == isa.OP["lw" if load else "sw"] and f["key_e"] == pair + 1
    assert (f["key_a"], f["read_a"]) == (P.reg_key(29), 1)
    assert [f[f"imm{i}"] for i in range(4)] == [0xF8, 0xFF, 0xFF, 0xFF]
    if load:
        assert (f["key_d"], f["has_dst"], f["write_d"], f["read_b"]) == (pair, 1, 1, 0)
    else:
        assert (f["key_b"], f["read_b"], f["has_dst"], f["write_d"]) == (pair, 1, 0, 0)
    other = P.control_word(0x1000, encode("lw", 2, 0, 29))
    assert other["is_dbl"] == 0 and other["key_e"] == 0


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


def _rows_one_by_one(program) -> np.ndarray:
    rows = [P.decode_row(seg.vaddr + 4 * i, int(w)) for seg in program.segments if seg.executable
            for i, w in enumerate(np.frombuffer(seg.data[: len(seg.data) & ~3], dtype="<u4"))]
    return np.asarray(rows, dtype=np.uint32)


def test_program_rows_are_decode_row_at_every_address(hello):
    """program_rows decodes each distinct word once and adds the address afterwards: the
    same rows as decoding every address, for a real program and for branches and jumps that
    repeat across a 256 MB region boundary and wrap past 2^32."""
    from vm.elf import PF_X, Program, Segment
    program, _, rows, _ = hello
    one = _rows_one_by_one(program)
    assert np.array_equal(rows[: len(one)], one) and not rows[len(one):].any()
    j, jal, beq_back, bne_fwd = 0x08000003, 0x0C3FFFFF, 0x1000FFFF, 0x14220010
    text = np.array([j, jal, beq_back, bne_fwd] * 4, dtype="<u4").tobytes()
    for base in (0x0FFFFFE0, 0xFFFFFFC0):         # words on both sides of 0x10000000; past 2^32
        synthetic = Program(base, (Segment(base, text, len(text), PF_X),), 0, 32, 1)
        assert np.array_equal(P.program_rows(synthetic)[:16], _rows_one_by_one(synthetic))
