"""A minimal EVM assembler, for the verifier's hand-scheduled kernels.

Why it exists: Vyper's bounds-checked arrays and memory-resident locals cost two to four
times what a hot inner loop's arithmetic needs (docs/onchain-verifier.md). The few loops
that dominate the verifier's gas are written as EVM assembly in Python (a generator per
kernel, e.g. :mod:`settlement.evm_row_kernel`) and assembled here into runtime code,
deployed as a contract the Vyper verifier calls. No assembler on PyPI is kept up to date
with the current opcode set, and the part needed (mnemonics, pushes, labels) is small.

A program is a sequence of items:

* an opcode mnemonic (``"ADD"``, ``"DUP3"``, ``"JUMPDEST"`` ...);
* ``Push(value)``: the shortest ``PUSHn`` of a non-negative integer below 2^256;
* ``Label(name)``: a jump target (emits ``JUMPDEST``);
* ``PushLabel(name)``: ``PUSH2`` of a label's offset (for ``JUMP``/``JUMPI``);
* ``PushJumpTable(names)``: ``PUSH32`` of up to 16 label offsets (a dispatch table);
* ``Data(name, payload)``: raw bytes (constant tables, read with ``CODECOPY``), placed after
  the last instruction that runs; ``PushLabel(name)`` pushes the offset of their first byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence, Union

_BASE = {
    "STOP": 0x00, "ADD": 0x01, "MUL": 0x02, "SUB": 0x03, "DIV": 0x04, "MOD": 0x06,
    "ADDMOD": 0x08, "MULMOD": 0x09, "LT": 0x10, "GT": 0x11, "EQ": 0x14, "ISZERO": 0x15,
    "AND": 0x16, "OR": 0x17, "XOR": 0x18, "NOT": 0x19, "SHL": 0x1B, "SHR": 0x1C,
    "KECCAK256": 0x20, "CALLDATALOAD": 0x35, "CALLDATASIZE": 0x36, "CALLDATACOPY": 0x37, "CODECOPY": 0x39,
    "EXTCODECOPY": 0x3C,
    "POP": 0x50, "MLOAD": 0x51, "MSTORE": 0x52, "JUMP": 0x56, "JUMPI": 0x57,
    "JUMPDEST": 0x5B, "PUSH0": 0x5F, "RETURN": 0xF3, "REVERT": 0xFD,
}
OPCODES: dict[str, int] = {**_BASE,
                           **{f"PUSH{n}": 0x5F + n for n in range(1, 33)},
                           **{f"DUP{n}": 0x7F + n for n in range(1, 17)},
                           **{f"SWAP{n}": 0x8F + n for n in range(1, 17)}}


@dataclass(frozen=True)
class Push:
    value: int


@dataclass(frozen=True)
class Label:
    name: str


@dataclass(frozen=True)
class PushLabel:
    name: str


@dataclass(frozen=True)
class PushJumpTable:
    """``PUSH32`` of the offsets of ``names``, label k in bits [16k, 16k + 16): a jump table
    read with ``(table >> (16 * k)) & 0xFFFF`` (at most 16 labels)."""
    names: tuple[str, ...]


@dataclass(frozen=True)
class Data:
    name: str
    payload: bytes


Item = Union[str, Push, Label, PushLabel, PushJumpTable, Data]


def _push_bytes(value: int) -> bytes:
    if not 0 <= value < 1 << 256:
        raise ValueError(f"push of {value}: not a 256-bit word")
    if value == 0:
        return bytes([OPCODES["PUSH0"]])
    n = (value.bit_length() + 7) // 8
    return bytes([0x5F + n]) + value.to_bytes(n, "big")


def assemble(program: Iterable[Item]) -> bytes:
    """Runtime bytecode of ``program``; raises ValueError for an unknown mnemonic, a label
    defined twice or used but never defined."""
    items: Sequence[Item] = list(program)
    labels: dict[str, int] = {}
    at = 0
    for it in items:                       # pass 1: label offsets (label pushes are PUSH2)
        if isinstance(it, Label):
            if it.name in labels:
                raise ValueError(f"label {it.name!r} defined twice")
            labels[it.name] = at
            at += 1
        elif isinstance(it, Data):
            if it.name in labels:
                raise ValueError(f"label {it.name!r} defined twice")
            labels[it.name] = at
            at += len(it.payload)
        elif isinstance(it, PushLabel):
            at += 3
        elif isinstance(it, PushJumpTable):
            if len(it.names) > 16:
                raise ValueError("a jump table holds at most 16 labels")
            at += 33
        elif isinstance(it, Push):
            at += len(_push_bytes(it.value))
        elif it in OPCODES:
            at += 1
        else:
            raise ValueError(f"unknown EVM mnemonic {it!r}")
    out = bytearray()
    for it in items:                       # pass 2: bytes
        if isinstance(it, Label):
            out.append(OPCODES["JUMPDEST"])
        elif isinstance(it, Data):
            out += it.payload
        elif isinstance(it, PushLabel):
            if it.name not in labels:
                raise ValueError(f"label {it.name!r} is never defined")
            out += bytes([OPCODES["PUSH2"]]) + labels[it.name].to_bytes(2, "big")
        elif isinstance(it, PushJumpTable):
            missing = [n for n in it.names if n not in labels]
            if missing:
                raise ValueError(f"label {missing[0]!r} is never defined")
            table = sum(labels[n] << (16 * k) for k, n in enumerate(it.names))
            out += bytes([OPCODES["PUSH32"]]) + table.to_bytes(32, "big")
        elif isinstance(it, Push):
            out += _push_bytes(it.value)
        else:
            out.append(OPCODES[it])
    return bytes(out)


def deployment_code(runtime: bytes) -> bytes:
    """Init code that returns ``runtime`` as the new contract's code."""
    if len(runtime) > 0x6000:
        raise ValueError(f"{len(runtime)} bytes of code exceed the 24,576-byte contract limit")
    n = len(runtime).to_bytes(2, "big")
    # PUSH2 n, DUP1, PUSH1 12, PUSH0, CODECOPY, PUSH0, RETURN (12 bytes), then the code
    init = bytes([0x61]) + n + bytes([0x80, 0x60, 0x0C, 0x5F, 0x39, 0x5F, 0xF3])
    return init.ljust(12, b"\x00") + runtime
