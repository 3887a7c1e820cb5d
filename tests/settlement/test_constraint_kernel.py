"""The assembled constraint interpreter (settlement/evm_constraint_kernel.py) against its
Python specification, on the embedded chain: every opcode, random expression DAGs, and the
real zkMIPS tables' programs on random opened values. The kernel inside the verifier (real
receipts, 240 mutations) is exercised by tests/settlement/test_onchain_verifier.py."""

from __future__ import annotations

import random
import struct

import pytest
from eth_abi import encode

from settlement import chain, evm_air, evm_stark
from settlement import evm_constraint_kernel as C
from settlement.evm_field_asm import P

R = evm_air._record


@pytest.fixture(scope="module")
def w3(embedded_chain):
    return embedded_chain


@pytest.fixture(scope="module")
def kernel(w3) -> str:
    return chain.deploy_code(w3, C.runtime_code())


def _ext(rng: random.Random) -> int:
    return sum(rng.randrange(P) << (64 * i) for i in range(4))


def _le(rng: random.Random, n: int) -> bytes:
    return b"".join(rng.randrange(P).to_bytes(4, "little") for _ in range(n))


def _program(records: list[bytes], roots: list[int], ext_consts: list[tuple[int, ...]]) -> bytes:
    head = struct.pack(">HHHH", len(records), len(roots), len(ext_consts), 0)
    return (head + b"".join(records) + b"".join(struct.pack(">H", r) for r in roots)
            + b"".join(struct.pack(">4I", *c) for c in ext_consts) + bytes(32))


def _context(rng: random.Random, *, pre_w=3, main_w=5, perm_w=8, nbus=4, publics=6) -> tuple[dict, bytes, bytes]:
    """Opened values laid out as ood.vy lays them (two points per column), a head with
    publics and LogUp sums, and the challenges and selectors."""
    pre_at, main_at = 32, 64 + 32 * pre_w
    perm_at = main_at + 32 * main_w + 32
    opened = _le(rng, (perm_at + 32 * 4 * perm_w + 64) // 4)
    pub_at = 8
    sum_at = pub_at + 4 * publics
    head = _le(rng, (sum_at + 16 * nbus) // 4 + 8)
    ctx = dict(z=_ext(rng), beta=_ext(rng), alpha=_ext(rng), pre_at=pre_at, pre_w=pre_w, main_at=main_at,
               main_w=main_w, perm_at=perm_at, perm_w=perm_w, pub_at=pub_at, sum_at=sum_at,
               sel0=_ext(rng), sel1=_ext(rng), sel2=_ext(rng))
    return ctx, opened, head


def _run(w3, kernel: str, programs: list[bytes], ctx: dict, opened: bytes, head: bytes) -> list[int]:
    records = []
    for prog in programs:
        addr = chain.deploy_code(w3, b"\0" + prog)
        records += C.table_record(addr, **{name: ctx[name] for name, _, _ in C.RECORD_FIELDS})
    data = encode(["uint256", "uint256", "uint256", "uint256[]", "bytes", "bytes"],
                  [ctx["z"], ctx["beta"], ctx["alpha"], records, opened, head])
    out = w3.eth.call({"to": kernel, "data": data})
    return [int.from_bytes(out[i:i + 32], "big") for i in range(0, len(out), 32)]


def _spec(prog: bytes, ctx: dict, opened: bytes, head: bytes) -> int:
    return C.evaluate(prog, opened=opened, head=head, **ctx)


OPCODE_CASES = {
    "const": ([R(4, ("I", P - 1))], [0], []),
    "main": ([R(0, ("H", 4), ("B", 1))], [0], []),
    "pre": ([R(1, ("H", 2), ("B", 0))], [0], []),
    "perm": ([R(2, ("H", 7), ("B", 1))], [0], []),
    "selectors": ([R(3, ("B", 0)), R(3, ("B", 1)), R(3, ("B", 2))], [0, 1, 2], []),
    "public": ([R(5, ("H", 5))], [0], []),
    "challenges": ([R(6, ("H", 0)), R(6, ("H", 1))], [0, 1], []),
    "ext_public": ([R(7, ("H", 3))], [0], []),
    "ext_const": ([R(8, ("H", 1))], [0], [(1, 2, 3, 4), (P - 1, 0, 7, P - 2)]),
    "neg": ([R(0, ("H", 1), ("B", 0)), R(9, ("H", 0)), R(4, ("I", 0)), R(9, ("H", 2))], [1, 3], []),
    "add_sub_mul": ([R(0, ("H", 1), ("B", 1)), R(7, ("H", 2)), R(10, ("H", 0), ("H", 1)),
                     R(11, ("H", 0), ("H", 1)), R(11, ("H", 1), ("H", 0)), R(12, ("H", 0), ("H", 1)),
                     R(12, ("H", 5), ("H", 5))], [2, 3, 4, 5, 6], []),
}


@pytest.mark.parametrize("case", sorted(OPCODE_CASES))
def test_every_opcode_computes_its_specification(w3, kernel, case):
    rng = random.Random(case)
    ctx, opened, head = _context(rng)
    prog = _program(*OPCODE_CASES[case])
    assert _run(w3, kernel, [prog], ctx, opened, head) == [_spec(prog, ctx, opened, head)]


def _random_dag(rng: random.Random, n: int, ctx: dict) -> bytes:
    records, ext_consts = [], []
    for i in range(n):
        leaf = i < 4 or rng.random() < 0.3
        if leaf:
            op = rng.choice([0, 1, 2, 3, 4, 5, 6, 7, 8])
            if op in (0, 1, 2):
                width = {0: ctx["main_w"], 1: ctx["pre_w"], 2: ctx["perm_w"]}[op]
                records.append(R(op, ("H", rng.randrange(width)), ("B", rng.randrange(2))))
            elif op == 3:
                records.append(R(3, ("B", rng.randrange(3))))
            elif op == 4:
                records.append(R(4, ("I", rng.randrange(P))))
            elif op == 5:
                records.append(R(5, ("H", rng.randrange(6))))
            elif op == 6:
                records.append(R(6, ("H", rng.randrange(2))))
            elif op == 7:
                records.append(R(7, ("H", rng.randrange(4))))
            else:
                records.append(R(8, ("H", len(ext_consts))))
                ext_consts.append(tuple(rng.randrange(P) for _ in range(4)))
        else:
            op = rng.choice([9, 10, 11, 12, 12])
            a, b = rng.randrange(i), rng.randrange(i)
            records.append(R(op, ("H", a)) if op == 9 else R(op, ("H", a), ("H", b)))
    roots = rng.sample(range(n), k=min(n, rng.randint(1, 12)))
    return _program(records, roots, ext_consts)


def test_random_programs_compute_their_specification(w3, kernel):
    """Several tables in one call, as ood.vy makes it."""
    rng = random.Random(11)
    ctx, opened, head = _context(rng)
    progs = [_random_dag(rng, rng.randint(5, 120), ctx) for _ in range(6)]
    assert _run(w3, kernel, progs, ctx, opened, head) == [_spec(p, ctx, opened, head) for p in progs]


def test_the_zkmips_tables_programs_compute_their_specification(w3, kernel):
    """The real programs (the segment system's largest tables) on random values."""
    from prover.security import PRESETS
    from prover.zkmips import segment_receipt as SR
    circ = evm_stark.circuit(SR.segment_verifier_system(), PRESETS["compact"], True)
    progs = sorted(circ.programs, key=len)[-3:]
    rng = random.Random(5)
    ctx, opened, head = _context(rng, pre_w=64, main_w=240, perm_w=48, nbus=48, publics=16)
    assert _run(w3, kernel, progs, ctx, opened, head) == [_spec(p, ctx, opened, head) for p in progs]


@pytest.mark.parametrize("what", ["main", "public", "ext_public", "perm"])
def test_a_non_canonical_value_reverts(w3, kernel, what):
    rng = random.Random(what)
    ctx, opened, head = _context(rng)
    rec = {"main": R(0, ("H", 0), ("B", 0)), "public": R(5, ("H", 0)),
           "ext_public": R(7, ("H", 0)), "perm": R(2, ("H", 0), ("B", 0))}[what]
    at = {"main": ctx["main_at"], "public": ctx["pub_at"], "ext_public": ctx["sum_at"], "perm": ctx["perm_at"] + 36}[what]
    buf = bytearray(head if what in ("public", "ext_public") else opened)
    buf[at:at + 4] = (P + 5).to_bytes(4, "little")
    if what in ("public", "ext_public"):
        head = bytes(buf)
    else:
        opened = bytes(buf)
    prog = _program([rec], [0], [])
    with pytest.raises(ValueError):
        _spec(prog, ctx, opened, head)
    with pytest.raises(chain._revert_errors()):
        _run(w3, kernel, [prog], ctx, opened, head)


@pytest.mark.parametrize("record", [R(6, ("H", 2)), R(13, ("H", 0))], ids=["challenge", "opcode"])
def test_an_unknown_challenge_or_opcode_reverts(w3, kernel, record):
    rng = random.Random(1)
    ctx, opened, head = _context(rng)
    prog = _program([record], [0], [])
    with pytest.raises(ValueError):
        _spec(prog, ctx, opened, head)
    with pytest.raises(chain._revert_errors()):
        _run(w3, kernel, [prog], ctx, opened, head)
