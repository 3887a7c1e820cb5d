"""The offline memory argument: the initial image, the per-access history, MemoryInit/Final.

Every cell the program can observe (RAM words, keyed ``addr >> 2``, and the state-vector
registers of ``vm.layout``, keyed ``spec.REGISTER_KEY_BASE + index``) is checked with one
multiset argument on the ``mem`` bus, tuples ``(key, v[4], ts)`` (docs/zkmips.md,
"Memory checking"):

* every access *receives* the cell's previous ``(value, ts)`` and *sends* its new
  ``(value, ts)`` with ``ts > prev_ts`` (the accessing table checks that, and that a read
  sends back the value it received);
* the MemoryInit/Final table sends ``(key, init, 0)`` once per cell and receives its
  ``(key, final, final_ts)``;
* ``init`` is the image value for the cells of the program's initial image and 0 for the
  others; the Image table (preprocessed, so fixed by the verifying key) sends every
  image ``(key, v)`` exactly once on the ``image`` bus, and the Init rows flagged
  ``from_image`` receive them.

With timestamps increasing along each chain, the bus balances only if each cell's accesses
form one chain from its initial value to its final one, i.e. every read returns the last
value written. Two gaps must be closed by
constraints, not by the bus: a cell listed twice in MemoryInit could be "re-initialised"
(a second chain starting from 0 or an old value), and a prover could leave an image word
out and start that cell at 0. The first is closed by listing keys strictly increasing
(two 16-bit limbs compared lexicographically, so the order is exact in the field); the
second by the Image table's fixed multiplicity column.

Public API
    :class:`MemoryImage`, :func:`memory_image`, :func:`image_from_state`,
    :func:`image_digest`; :func:`access_events` -> :class:`MemoryEvents`;
    :func:`build_image`, :func:`image_trace`; :func:`build_memory`, :func:`memory_trace`;
    for the tables that access memory (CPU, Syscall...): :func:`memory_access` (the
    per-access columns, constraints and interactions) and :func:`access_witness`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np

from prover.air import Table
from prover.expr import Expr, ExprLike
from prover.zkmips.heights import table_height  # noqa: F401  (re-exported)
from prover.field import P
from prover.keccak import keccak256
from prover.zkmips.spec import BUS_MEM, BUS_RANGE16, REGISTER_KEY_BASE, Word, range_check_bytes
from vm.boot import initial_state
from vm.elf import Program, load_elf
from vm.layout import PAGE_BITS, WORDS_PER_PAGE
from vm.memory import Memory

#: Bus on which the Image table hands its (key, v[4]) entries to MemoryInit (not in spec.py
#: yet: only these two tables use it).
BUS_IMAGE = "image"
IMAGE_TABLE = "image"
MEMORY_TABLE = "memory"

#: Keys are ``key_lo + 2^16 key_hi`` with ``key_lo < 2^16`` and ``key_hi < KEY_HI_LIMIT``:
#: every such integer is below p - 1, so distinct limb pairs are distinct field elements
#: (RAM keys < 2^30 and register keys 2^30 + 71 use key_hi <= 2^14).
KEY_HI_LIMIT = 30720
KEY_LIMIT = KEY_HI_LIMIT << 16
#: ``ts - prev_ts - 1`` must fit 16 + 8 bits (one range16 and one byte lookup per access).
MAX_TS_GAP = 1 << 24
#: Timestamps are field elements below this (segments stay far below it).
MAX_TS = 1 << 30

IMAGE_DIGEST_DOMAIN = b"zkmips-memory-image-v1"
MASK32 = 0xFFFFFFFF


def word_limbs_array(words: np.ndarray) -> np.ndarray:
    """``uint32[n, 4]``: the little-endian byte limbs of each 32-bit word."""
    w = np.asarray(words, dtype=np.uint64).reshape(-1, 1)
    return ((w >> np.array([0, 8, 16, 24], dtype=np.uint64)) & 0xFF).astype(np.uint32)


# ----------------------------------------------------------------------------- the image
@dataclass(frozen=True)
class MemoryImage:
    """The non-zero cells of an initial state: ``keys`` strictly increasing (int64) with
    their 32-bit ``values`` (int64, all non-zero). Zero cells are left out: a cell absent
    from the image starts at 0, so listing them would only make the tables taller."""

    keys: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        keys = np.asarray(self.keys, dtype=np.int64).reshape(-1)
        values = np.asarray(self.values, dtype=np.int64).reshape(-1)
        if keys.shape != values.shape:
            raise ValueError(f"image has {keys.size} keys but {values.size} values")
        if keys.size and (keys[0] < 0 or keys[-1] >= KEY_LIMIT or np.any(np.diff(keys) <= 0)):
            raise ValueError(f"image keys must be strictly increasing in [0, {KEY_LIMIT})")
        if values.size and (values.min() <= 0 or values.max() > MASK32):
            raise ValueError("image values must be non-zero 32-bit words")
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "values", values)

    def __len__(self) -> int:
        return int(self.keys.size)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each key: (is in the image, its image value or 0)."""
        keys = np.asarray(keys, dtype=np.int64)
        if not len(self):
            return np.zeros(keys.shape, bool), np.zeros(keys.shape, np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self) - 1)
        hit = self.keys[at] == keys
        return hit, np.where(hit, self.values[at], 0)


def image_from_state(memory: Memory, regs: np.ndarray) -> MemoryImage:
    """The image of a machine state: every non-zero word of every mapped page (key
    ``addr >> 2``) and every non-zero entry of the state vector (key
    ``REGISTER_KEY_BASE + index``)."""
    pages = np.nonzero(memory.ptab >= 0)[0]
    words = memory.pages[memory.ptab[pages]] if pages.size else np.zeros((0, WORDS_PER_PAGE), np.uint32)
    page_i, word_i = np.nonzero(words)
    ram_keys = (pages[page_i].astype(np.int64) << (PAGE_BITS - 2)) + word_i
    ram_vals = words[page_i, word_i].astype(np.int64)
    regs = np.asarray(regs, dtype=np.int64).reshape(-1) & MASK32
    reg_idx = np.nonzero(regs)[0]
    keys = np.concatenate([ram_keys, REGISTER_KEY_BASE + reg_idx])
    values = np.concatenate([ram_vals, regs[reg_idx]])
    order = np.argsort(keys, kind="stable")       # ptab order is address order already
    return MemoryImage(keys[order], values[order])


def memory_image(program: Program | bytes | str) -> MemoryImage:
    """The image of a program's initial state (``vm.boot.initial_state``): what
    ``vm.image_id`` digests, as memory-argument cells."""
    if not isinstance(program, Program):
        program = load_elf(program)
    memory, regs = initial_state(program)
    return image_from_state(memory, regs)


def image_digest(image: MemoryImage) -> bytes:
    """keccak256 of the Image table's contents (domain, count, keys, values as LE u32).

    A cheap name for an image, e.g. to cache a proving key per image; the binding one
    is the preprocessed commitment in the verifying key, which covers the same rows."""
    head = IMAGE_DIGEST_DOMAIN + len(image).to_bytes(4, "little")
    return keccak256(head + image.keys.astype("<u4").tobytes() + image.values.astype("<u4").tobytes())


# ----------------------------------------------------------------------------- the events
class MemoryEvents(NamedTuple):
    """``accesses``: per access, in the order given: key, ts, value, is_write, and the
    derived prev_value, prev_ts. ``cells``: per cell (touched or in the image), keys
    increasing: key, init, from_image, final, final_ts. All int64 arrays (bool flags)."""

    accesses: dict[str, np.ndarray]
    cells: dict[str, np.ndarray]


def _int_array(a: object, name: str, n: int | None = None) -> np.ndarray:
    arr = np.asarray(a)
    if arr.size and arr.dtype.kind not in "uib":
        raise ValueError(f"access {name}: expected integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64).reshape(-1)
    if n is not None and arr.size != n:
        raise ValueError(f"access {name}: expected {n} entries, got {arr.size}")
    return arr


def access_events(key: object, ts: object, value: object, is_write: object, image: MemoryImage,
                  *, check: bool = True) -> MemoryEvents:
    """From accesses ``(key, ts, value_after, is_write)`` (any order; each key's
    timestamps distinct and >= 1), derive each access's previous value and timestamp
    (the cell's initial value and ts 0 for its first access) and every cell's initial
    and final state.

    ``check`` (default) rejects histories no honest proof can have, with one line
    naming the access: a read whose value is not the cell's current value, a repeated
    or non-positive timestamp, a gap of 2^24 or more between two accesses of a cell,
    keys outside [0, KEY_LIMIT). Tests forging witnesses turn it off."""
    key = _int_array(key, "key")
    n = key.size
    ts, value, is_write = (_int_array(a, nm, n) for a, nm in ((ts, "ts"), (value, "value"), (is_write, "is_write")))
    is_write = is_write != 0
    if check:
        _check_ranges(key, ts, value)
    order = np.lexsort((ts, key))
    k_s, t_s, v_s = key[order], ts[order], value[order]
    first = np.ones(n, dtype=bool)
    first[1:] = k_s[1:] != k_s[:-1]
    last = np.ones(n, dtype=bool)
    last[:-1] = first[1:]
    prev_v = np.empty(n, dtype=np.int64)
    prev_t = np.empty(n, dtype=np.int64)
    prev_v[1:], prev_t[1:] = v_s[:-1], t_s[:-1]
    _, init_touched = image.lookup(k_s[first])
    prev_v[first], prev_t[first] = init_touched, 0
    if check:
        _check_history(k_s, t_s, v_s, is_write[order], prev_v, prev_t)

    accesses = {"key": key, "ts": ts, "value": value, "is_write": is_write,
                "prev_value": np.empty(n, np.int64), "prev_ts": np.empty(n, np.int64)}
    accesses["prev_value"][order] = prev_v
    accesses["prev_ts"][order] = prev_t

    cell_keys = np.union1d(k_s[first], image.keys)
    from_image, init = image.lookup(cell_keys)
    final, final_ts = init.copy(), np.zeros(cell_keys.size, np.int64)
    at = np.searchsorted(cell_keys, k_s[last])
    final[at], final_ts[at] = v_s[last], t_s[last]
    cells = {"key": cell_keys, "init": init, "from_image": from_image, "final": final, "final_ts": final_ts}
    return MemoryEvents(accesses, cells)


def _check_ranges(key: np.ndarray, ts: np.ndarray, value: np.ndarray) -> None:
    for arr, name, lo, hi in ((key, "key", 0, KEY_LIMIT), (ts, "ts", 1, MAX_TS), (value, "value", 0, MASK32 + 1)):
        bad = np.nonzero((arr < lo) | (arr >= hi))[0]
        if bad.size:
            raise ValueError(f"access {int(bad[0])}: {name} {int(arr[bad[0]])} is outside [{lo}, {hi})")


def _check_history(k: np.ndarray, t: np.ndarray, v: np.ndarray, w: np.ndarray, prev_v: np.ndarray,
                   prev_t: np.ndarray) -> None:
    gap = t - prev_t - 1
    bad = np.nonzero((gap < 0) | (gap >= MAX_TS_GAP))[0]
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"key {int(k[i])}: access at ts {int(t[i])} follows ts {int(prev_t[i])} "
                         f"(timestamps of a key must be distinct and less than 2^24 apart)")
    bad = np.nonzero(~w & (v != prev_v))[0]
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"key {int(k[i])}: read at ts {int(t[i])} returns 0x{int(v[i]):08x} "
                         f"but the cell holds 0x{int(prev_v[i]):08x}")


# ----------------------------------------------------------------------------- Image table
IMAGE_PRE = ("key", "v0", "v1", "v2", "v3", "is_entry")


def image_preprocessed(image: MemoryImage) -> np.ndarray:
    """``uint32[h, 6]``: key, value limbs, is_entry (1 on the image rows, 0 on padding)."""
    n = len(image)
    out = np.zeros((table_height(n), len(IMAGE_PRE)), dtype=np.uint32)
    out[:n, 0] = image.keys
    out[:n, 1:5] = word_limbs_array(image.values)
    out[:n, 5] = 1
    return out


def build_image(image: MemoryImage) -> Table:
    """The Image table: sends each (key, v[4]) of the initial image on the ``image`` bus
    with the *preprocessed* multiplicity ``is_entry``.

    Everything it sends is fixed by the verifying key, so the prover can neither skip an
    entry (MemoryInit must then receive it, as a ``from_image`` row) nor change a value.
    The limbs are bytes by construction (computed here, not by the prover), so they need
    no range check. The engine requires a main column: ``unused`` is pinned to 0."""
    t = Table(IMAGE_TABLE)
    key, v0, v1, v2, v3, is_entry = (t.pre(name) for name in IMAGE_PRE)
    unused = t.main("unused")
    t.assert_zero(unused)
    t.set_preprocessed(image_preprocessed(image))
    t.send(BUS_IMAGE, [key, v0, v1, v2, v3], is_entry)
    return t


def image_trace(image: MemoryImage) -> np.ndarray:
    """The Image table's main trace (the all-zero ``unused`` column)."""
    return np.zeros((table_height(len(image)), 1), dtype=np.uint32)


# ----------------------------------------------------------------------------- MemoryInit/Final
#: The global memory bus: tuples ``(key, v[4], seg)`` that join segments (open in a
#: segment's proof, balanced over a receipt's proofs; docs/segments.md).
BUS_GMEM = "gmem"
GLOBAL_MEMORY_TABLE = "memory_global"
#: Segments are numbered 1..MAX_SEGMENTS - 1 (``seg - prev_seg - 1`` is one range16 limb);
#: segment 0 is the initial image.
MAX_SEGMENTS = 1 << 16

KEY_COLUMNS = ("key_lo", "key_hi", "same_hi", "diff", "is_real")
MEMORY_COLUMNS = (*KEY_COLUMNS, "init0", "init1", "init2", "init3", "final0", "final1", "final2", "final3",
                  "final_ts", "prev_seg")
GLOBAL_MEMORY_COLUMNS = (*KEY_COLUMNS, "from_image", "init0", "init1", "init2", "init3",
                         "final0", "final1", "final2", "final3", "final_seg")


def _sorted_keys(t: Table, c: dict[str, Expr]) -> Expr:
    """One row per cell, keys strictly increasing; returns the key expression.

    Constraints and why:
    * ``is_real``, ``same_hi`` boolean; real rows form a prefix (``is_real' <= is_real``),
      else a padding row between two real rows would hide a repeated key from the
      ordering check, which only looks at real successors.
    * key order: ``key = key_lo + 2^16 key_hi`` with ``key_lo``, ``key_hi`` in [0, 2^16)
      and ``key_hi < KEY_HI_LIMIT`` (range16 of ``key_hi`` and of
      ``key_hi + 2^16 - KEY_HI_LIMIT``), so keys are integers below p; then for a real
      successor, ``same_hi ? (key_hi' = key_hi, key_lo' - key_lo - 1) : key_hi' - key_hi - 1``
      equals ``diff``, range-checked by range16: the lexicographic order is strict, so no
      cell is listed twice. (A single ``key' - key - 1`` range check cannot work in
      BabyBear: honest gaps reach about 2^30 (RAM to the register space), while a
      non-increasing pair wraps to ``p - 1 - (key - key') >= p - 2^30 - 72``, about
      0.875 * 2^30; the two ranges overlap.)"""
    key_lo, key_hi, same_hi, diff, is_real = (c[n] for n in KEY_COLUMNS)
    t.assert_bool(is_real)
    t.assert_bool(same_hi)
    t.when_transition(is_real.next * (1 - is_real))
    t.when_transition(is_real.next * same_hi * (key_hi.next - key_hi))
    step = same_hi * (key_lo.next - key_lo - 1) + (1 - same_hi) * (key_hi.next - key_hi - 1)
    t.when_transition(is_real.next * (diff - step))
    for v in (key_lo, key_hi, key_hi + (65536 - KEY_HI_LIMIT), diff):
        t.send(BUS_RANGE16, [v], is_real)
    return key_lo + key_hi * 65536


def build_memory() -> Table:
    """A segment's MemoryInit/Final: one row per cell the segment lists (every cell it
    accesses, keys strictly increasing: :func:`_sorted_keys`).

    Inside the segment it sends ``(key, init, 0)`` and receives ``(key, final, final_ts)``
    on ``mem``, so the segment's accesses of each cell form one chain from ``init`` to
    ``final``. Across segments it receives ``(key, init, prev_seg)`` and sends
    ``(key, final, seg)`` on the open ``gmem`` bus, with ``seg`` the segment's number
    (public) and ``prev_seg < seg`` (``seg - prev_seg - 1`` in range16): the cell's
    value comes from an earlier segment, or from the image (segment 0). Why that forces
    each segment to start from the last value the previous lister left: docs/segments.md.
    ``init``/``final`` limbs need no range check: both are matched exactly against
    tuples whose senders range-checked them (an access's writer, or the image)."""
    t = Table(MEMORY_TABLE)
    c = dict(zip(MEMORY_COLUMNS, t.mains(*MEMORY_COLUMNS)))
    key = _sorted_keys(t, c)
    is_real, prev_seg = c["is_real"], c["prev_seg"]
    seg = t.public("seg")
    init = [c[f"init{j}"] for j in range(4)]
    final = [c[f"final{j}"] for j in range(4)]
    t.send(BUS_MEM, [key, *init, 0], is_real)
    t.receive(BUS_MEM, [key, *final, c["final_ts"]], is_real)
    t.receive(BUS_GMEM, [key, *init, prev_seg], is_real)
    t.send(BUS_GMEM, [key, *final, seg], is_real)
    t.send(BUS_RANGE16, [seg - prev_seg - 1], is_real)
    return t


def build_global_memory() -> Table:
    """The receipt's MemoryInit/Final over the whole run: one row per cell in the image
    or listed by any segment, keys strictly increasing (:func:`_sorted_keys`); sends
    ``(key, init, 0)`` and receives ``(key, final, final_seg)`` on ``gmem``.

    ``from_image`` rows are real and receive (key, init) from the Image table; other
    rows have ``init = 0``. Since the Image table sends every entry exactly once and keys
    are distinct, each image cell starts at its image value and no other cell does."""
    t = Table(GLOBAL_MEMORY_TABLE)
    c = dict(zip(GLOBAL_MEMORY_COLUMNS, t.mains(*GLOBAL_MEMORY_COLUMNS)))
    key = _sorted_keys(t, c)
    is_real, from_image = c["is_real"], c["from_image"]
    init = [c[f"init{j}"] for j in range(4)]
    final = [c[f"final{j}"] for j in range(4)]
    t.assert_bool(from_image)
    t.assert_zero(from_image * (1 - is_real))
    for limb in init:
        t.assert_zero((1 - from_image) * limb)
    t.receive(BUS_IMAGE, [key, *init], from_image)
    t.send(BUS_GMEM, [key, *init, 0], is_real)
    t.receive(BUS_GMEM, [key, *final, c["final_seg"]], is_real)
    return t


def _key_columns(keys: np.ndarray, columns: Sequence[str], check: bool) -> tuple[np.ndarray, dict[str, int]]:
    """A trace of ``columns`` with the key limbs and ordering witness of ``keys`` filled."""
    keys = np.asarray(keys, dtype=np.int64)
    n = keys.size
    if n and (keys.min() < 0 or keys.max() >= KEY_LIMIT):
        raise ValueError(f"memory cells: keys must be in [0, {KEY_LIMIT})")
    if check and np.any(np.diff(keys) <= 0):
        raise ValueError("memory cells: keys must be strictly increasing")
    out = np.zeros((table_height(n), len(columns)), dtype=np.uint32)
    col = {name: i for i, name in enumerate(columns)}
    lo, hi = keys & 0xFFFF, keys >> 16
    same = np.zeros(n, dtype=bool)
    same[:-1] = hi[1:] == hi[:-1]
    diff = np.zeros(n, dtype=np.int64)
    diff[:-1] = np.where(same[:-1], lo[1:] - lo[:-1] - 1, hi[1:] - hi[:-1] - 1) % P
    out[:n, col["key_lo"]] = lo
    out[:n, col["key_hi"]] = hi
    out[:n, col["same_hi"]] = same
    out[:n, col["diff"]] = diff
    out[:n, col["is_real"]] = 1
    return out, col


def memory_trace(cells: dict[str, np.ndarray], *, check: bool = True) -> np.ndarray:
    """A segment's MemoryInit/Final trace from :func:`access_events`' ``cells`` plus
    ``prev_seg`` (per cell, the last earlier segment that listed it, 0 for none).

    ``check=False`` (forged-witness tests) accepts any keys in [0, KEY_LIMIT) and
    reduces ``diff`` mod p, as a cheating prover would fill it."""
    out, col = _key_columns(cells["key"], MEMORY_COLUMNS, check)
    n = len(cells["key"])
    out[:n, col["init0"]: col["init3"] + 1] = word_limbs_array(cells["init"])
    out[:n, col["final0"]: col["final3"] + 1] = word_limbs_array(cells["final"])
    out[:n, col["final_ts"]] = cells["final_ts"]
    out[:n, col["prev_seg"]] = cells["prev_seg"]
    return out


def global_memory_trace(keys: np.ndarray, image: MemoryImage, final: np.ndarray, final_seg: np.ndarray, *,
                        check: bool = True) -> np.ndarray:
    """The global MemoryInit/Final trace: ``keys`` (strictly increasing, every image key
    among them) with their ``final`` values and the last segment ``final_seg`` that
    listed each (0 for an image cell no segment touched)."""
    out, col = _key_columns(keys, GLOBAL_MEMORY_COLUMNS, check)
    n = len(keys)
    from_image, init = image.lookup(keys)
    if check and int(from_image.sum()) != len(image):
        raise ValueError("memory cells: every image key must be listed")
    out[:n, col["from_image"]] = from_image
    out[:n, col["init0"]: col["init3"] + 1] = word_limbs_array(init)
    out[:n, col["final0"]: col["final3"] + 1] = word_limbs_array(final)
    out[:n, col["final_seg"]] = final_seg
    return out


# ----------------------------------------------------------------------------- one access
ACCESS_WITNESS = ("prev0", "prev1", "prev2", "prev3", "prev_ts", "gap_lo", "gap_hi")


@dataclass(frozen=True)
class AccessColumns:
    """The witness columns :func:`memory_access` declares for one access."""

    prev: list[Expr]
    prev_ts: Expr
    gap_lo: Expr
    gap_hi: Expr


def memory_access(t: Table, name: str, key: ExprLike, value: Word, ts: ExprLike, is_write: ExprLike,
                  multiplicity: ExprLike, *, check_gap_hi: bool = True) -> AccessColumns:
    """One access of ``key`` at ``ts`` leaving ``value`` in the cell: declares the columns
    ``{name}_prev0..3``, ``{name}_prev_ts``, ``{name}_gap_lo``, ``{name}_gap_hi``; receives
    ``(key, prev, prev_ts)`` and sends ``(key, value, ts)`` on ``mem`` with ``multiplicity``.

    Constraints and why: ``ts - prev_ts - 1 = gap_lo + 2^16 gap_hi`` with ``gap_lo`` in
    range16 and ``gap_hi`` a byte, so time only moves forward along a cell's chain (a
    read cannot receive a value written later); a read (``is_write = 0``) sends back
    exactly what it received. ``value`` limbs are *not* range-checked here: a read's
    equal ``prev`` (checked by their sender), a write's come from the table producing
    them (spec: the producer checks). ``check_gap_hi=False`` leaves the byte check of
    ``gap_hi`` to the caller (to pair it with another limb in one lookup). For a dummy
    access (multiplicity 0) :func:`access_witness` fills ``prev = value``.

    The caller guarantees the rest of the contract: ``is_write`` boolean, ``key`` the
    canonical cell key, ``ts`` >= 1 and increasing across its rows (docs/zkmips.md)."""
    if len(value) != 4:
        raise ValueError(f"table {t.name}: access {name} needs a 4-limb value, got {len(value)}")
    cols = t.mains(*(f"{name}_{c}" for c in ACCESS_WITNESS))
    prev, prev_ts, gap_lo, gap_hi = cols[:4], cols[4], cols[5], cols[6]
    for v, p in zip(value, prev):
        t.assert_zero((1 - is_write) * (v - p))
    t.assert_zero(multiplicity * (ts - prev_ts - 1 - gap_lo - gap_hi * 65536))
    t.send(BUS_RANGE16, [gap_lo], multiplicity)
    if check_gap_hi:
        range_check_bytes(t, [gap_hi], multiplicity)
    t.receive(BUS_MEM, [key, *prev, prev_ts], multiplicity)
    t.send(BUS_MEM, [key, *value, ts], multiplicity)
    return AccessColumns(prev, prev_ts, gap_lo, gap_hi)


def access_witness(accesses: dict[str, np.ndarray], active: np.ndarray | None = None) -> np.ndarray:
    """``uint32[n, 7]``: the :data:`ACCESS_WITNESS` columns of :func:`memory_access` for
    :func:`access_events`' ``accesses`` (``active``: where the multiplicity is non-zero;
    default all). Inactive rows get ``prev = value`` and zeros, which satisfy every
    constraint. A forged history with ``prev_ts >= ts`` gets the gap reduced mod p, as a
    cheating prover would fill it (its ``gap_hi`` is then no byte)."""
    value = np.asarray(accesses["value"], dtype=np.int64)
    n = value.size
    active = np.ones(n, dtype=bool) if active is None else np.asarray(active, dtype=bool)
    out = np.zeros((n, len(ACCESS_WITNESS)), dtype=np.uint32)
    out[:, 0:4] = word_limbs_array(np.where(active, accesses["prev_value"], value))
    gap = (np.asarray(accesses["ts"], np.int64) - accesses["prev_ts"] - 1) % P
    out[:, 4] = np.where(active, accesses["prev_ts"], 0)
    out[:, 5] = np.where(active, gap & 0xFFFF, 0)
    out[:, 6] = np.where(active, gap >> 16, 0)
    return out
