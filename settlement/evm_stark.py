"""Calldata for the EVM STARK verifier (``contracts/verifier/stark.vy``), from a proof.

Why this module exists: the contract replays the Python verifier in steps, and each step
takes raw byte blobs laid out so that the contract can hash them as the transcript and the
Merkle trees hash them (little-endian field elements, exactly as absorbed) and read them in
place with ``extract32``. Nothing here is trusted: a wrong blob makes the contract revert.

Blobs (``||`` is concatenation; ``ext`` = 16 bytes, four little-endian u32; ``be8`` = a
grinding nonce as 8 big-endian bytes):

* circuit (registered once per proof system and preset; all big-endian):
  ``u8 log_blowup, num_queries, pow_bits, log_final_poly_len, max_log_arity, batch_pow_bits,
  commit_pow_bits, salt_bytes, hiding, tables, buses, max_log_height; u32 open-bus mask``,
  then per table 16 bytes ``u16 pre_width, main_width, perm_width; u8 degree, publics, buses;
  u16 offset of its bus list``, then the bus lists (u8 global index per running sum of a table,
  running sums numbered by sorted name: the closed buses' one and each open bus, prover.logup), then 32 zero bytes.
* head: ``vk_digest || u32 log_height per table || publics (u32 each) || main_root || seed
  || perm_root || bus sums (ext, per table in bus order) || quotient_root``.
* opened: ``[pre_root || pre values] || main_root || main values || perm_root || perm values
  || quotient_root || chunk values || mask_root`` where a matrix's values are its columns at
  zeta then at zeta*omega (quotient chunks: zeta only), ext each: the PCS's absorbed stream.
* fri_head: ``be8 batch nonce || (layer root || be8 nonce) per layer || final polynomial
  (ext each) || be8 query nonce || 32 zero bytes``.
* queries (per query, in order): per round, the matrices' rows grouped by height (tallest
  first, commit order inside a height), each group followed by its salt, then the siblings
  (leaf level first); the mask row (ext) || salt || siblings; per FRI layer its row
  (``arity`` ext) || salt || siblings. The whole blob ends with 32 zero bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from prover import field, logup, stark
from prover.air import System
from prover.merkle import SALT_BYTES
from prover.security import FriParams
from settlement import evm_row_kernel
from settlement.evm_air import encode_constraints

MAX_LOG_HEIGHT = stark.MAX_LOG_HEIGHT


def _le(values) -> bytes:
    return np.asarray(values, dtype="<u4").tobytes()


def _be8(nonce: int) -> bytes:
    return struct.pack(">Q", int(nonce))


def bus_names(system: System) -> list[str]:
    """Global numbering of a circuit's LogUp running sums (the contract's "buses"): the
    closed buses' shared sum and every open bus, sorted by name (``prover.logup``)."""
    return logup.system_sums(system)


def open_bus_names(system: System) -> list[str]:
    """The open buses in the order the contract reports their totals."""
    return [b for b in bus_names(system) if b in system.open_buses]


@dataclass(frozen=True)
class Circuit:
    """What the verifier contract registers for one proof system at one preset."""

    blob: bytes
    digest: bytes             # prover.stark.circuit_digest: what verifying keys hash
    programs: list[bytes]     # per table, settlement/evm_air.py


_CIRCUITS: dict[tuple, tuple[System, Circuit]] = {}


def circuit(system: System, params: FriParams, hiding: bool) -> Circuit:
    """The circuit of ``system`` at ``params`` (cached per system object: a driver sends it
    with every proof)."""
    key = (id(system), params, hiding)
    hit = _CIRCUITS.get(key)
    if hit is None or hit[0] is not system:
        hit = (system, _build_circuit(system, params, hiding))
        _CIRCUITS[key] = hit
    return hit[1]


def _build_circuit(system: System, params: FriParams, hiding: bool) -> Circuit:
    infos = stark._derived(system, hiding)[2]
    names = bus_names(system)
    if len(names) > 32:
        raise ValueError("the EVM verifier handles at most 32 buses")
    open_mask = sum(1 << i for i, b in enumerate(names) if b in system.open_buses)
    salt = SALT_BYTES if hiding else 0
    head = bytes([params.log_blowup, params.num_queries, params.pow_bits, params.log_final_poly_len,
                  params.max_log_arity, params.batch_pow_bits, params.commit_pow_bits, salt, int(hiding),
                  len(infos), len(names), MAX_LOG_HEIGHT]) + struct.pack(">I", open_mask)
    lists_at = 16 + 16 * len(infos)
    records, lists = b"", b""
    for info in infos:
        t = info.table
        buses = list(info.layout.sums)
        records += struct.pack(">HHHBBBH", t.pre_width, info.main_width, info.layout.width, info.degree,
                               len(t.public_names), len(buses), lists_at + len(lists)).ljust(16, b"\0")
        lists += bytes(names.index(b) for b in buses)
    programs = [encode_constraints(info.constraints) for info in infos]
    return Circuit(head + records + lists + bytes(32), stark.circuit_digest(system, params, hiding), programs)


# ----------------------------------------------------------------------------- step 1
def begin_args(vk: stark.VerifyingKey, proof: stark.StarkProof, seed: bytes) -> dict:
    """Keyword arguments of ``begin`` (the circuit blob included)."""
    circ = circuit(vk.system, vk.params, vk.hiding)
    pre_heights = bytes(h or 0 for h in vk.pre_log_heights)
    head = (vk.digest + _le(proof.log_heights) + b"".join(_le(p) for p in proof.publics) + proof.main_root
            + seed + (proof.perm_root or bytes(32)) + b"".join(_le(s) for s in proof.bus_sums if len(s))
            + proof.quotient_root)
    roots = ([vk.pre_root] if vk.pre_root is not None else []) + [proof.main_root] + \
        ([proof.perm_root] if proof.perm_root is not None else []) + [proof.quotient_root]
    op = proof.opening_proof
    opened = b""
    for root, matrices in zip(roots, proof.opened):
        opened += root + b"".join(_le(v) for points in matrices for v in points)
    if vk.hiding:
        opened += op.mask_root
    fri = op.fri_proof
    fri_head = (_be8(op.batch_pow_nonce) + b"".join(r + _be8(n) for r, n in zip(fri.commit_roots, fri.commit_pow_nonces))
                + _le(fri.final_poly) + _be8(fri.query_pow_nonce) + bytes(32))
    return {"circuit": circ.blob, "pre_root": vk.pre_root or bytes(32), "pre_heights": pre_heights, "seed": seed,
            "head": head, "opened": opened, "fri_head": fri_head}


def publics_stream(proof: stark.StarkProof) -> bytes:
    """The heights || publics part of the head: what a proof's statement hashes."""
    return _le(proof.log_heights) + b"".join(_le(p) for p in proof.publics)


def pack_ext(v) -> int:
    """An extension element as the contract packs it (coefficient i in bits 64i..)."""
    return sum(int(c) << (64 * i) for i, c in enumerate(np.asarray(v).reshape(4)))


def open_totals(vk: stark.VerifyingKey, proof: stark.StarkProof) -> list[int]:
    """The proof's open-bus totals (sum over its tables), packed, in open_bus_names order."""
    acc = {b: np.zeros(4, np.uint32) for b in open_bus_names(vk.system)}
    for info, sums in zip(vk.infos, proof.bus_sums):
        for b, v in zip(info.layout.sums, np.asarray(sums, dtype=np.uint32)):
            if b in acc:
                acc[b] = field.ext_add(acc[b], v)
    return [pack_ext(acc[b]) for b in open_bus_names(vk.system)]


# ----------------------------------------------------------------------------- step 2
def _blob_order(heights: Sequence[int]) -> list[int]:
    """Matrix positions of one round in blob order: height descending, then commit order."""
    return sorted(range(len(heights)), key=lambda m: -heights[m])


def _round_heights(vk: stark.VerifyingKey, proof: stark.StarkProof) -> list[list[int]]:
    """The LDE log-height of every matrix of every round, in commit order."""
    lb, extra = vk.params.log_blowup, 1 if vk.hiding else 0
    pre, main, perm, quot = [], [], [], []
    for info, lh in zip(vk.infos, proof.log_heights):
        h = lh + extra + lb
        if info.table.pre_width:
            pre.append(h)
        main.append(h)
        if info.has_perm:
            perm.append(h)
        k = stark.num_chunks(info.degree, lh, stark.mask_degree(lh, vk.params, vk.hiding))
        quot += [h] * k
    return ([pre] if pre else []) + [main] + ([perm] if perm else []) + [quot]


def query_bytes(vk: stark.VerifyingKey, proof: stark.StarkProof, q: int) -> bytes:
    """Query ``q``'s part of the blob: its rounds' rows, salts and siblings, the mask's, every
    FRI layer's (the same length for every query of a proof)."""
    opening = proof.opening_proof.query_openings[q]
    out = bytearray()
    for heights, batch in zip(_round_heights(vk, proof), opening.rounds):
        order = _blob_order(heights)
        salts = list(batch.proof.salts)
        for i, m in enumerate(order):
            out += _le(batch.rows[m])
            last = i + 1 == len(order) or heights[order[i + 1]] != heights[m]
            if last and salts:
                out += salts.pop(0)
        out += b"".join(batch.proof.siblings)
    if opening.mask is not None:
        out += _le(opening.mask.rows[0]) + b"".join(opening.mask.proof.salts) + b"".join(opening.mask.proof.siblings)
    for layer in proof.opening_proof.fri_proof.query_proofs[q].layers:
        out += _le(layer.values) + b"".join(layer.proof.salts) + b"".join(layer.proof.siblings)
    return bytes(out)


def query_blob(vk: stark.VerifyingKey, proof: stark.StarkProof, first: int, count: int) -> bytes:
    """The ``verify_queries`` data of queries ``first .. first + count - 1``."""
    out = b"".join(query_bytes(vk, proof, q) for q in range(first, first + count))
    # 32 zero bytes (the last word read), and the row kernel's window at least (queries.vy)
    return out + bytes(max(32, evm_row_kernel.ROW_WINDOW - len(out)))
