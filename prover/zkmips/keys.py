"""A program's proving key, and its image id: the digest of its verifying key.

The verifying key of a program's proof system is the engine's key over the zkMIPS
tables, whose preprocessed part - the Program table (one control word per instruction
word of the executable segments) and the Image table (every non-zero cell of the initial
state, kernel cells included) - is committed once. Its digest covers the tables'
description, the FRI parameters, and that commitment; the image id adds the entry point,
which the CPU's public ``start_pc`` must equal:

    image_id = keccak256("zkmips-image-v2" || vk.digest || u32 entry)

So two programs share an image id only if they have the same code, data and entry, and
the id of one program differs between FRI presets (a receipt made with the insecure
test preset never carries a production image id). The verifier rebuilds the key from a
receipt's root and heights (:func:`verifying_key`), so it needs no program bytes.
"""

from __future__ import annotations

import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Generic, TypeVar

import numpy as np

from prover import stark
from prover.air import System, Table
from prover.keccak import keccak256
from prover.security import DEFAULT, FriParams
from prover.zkmips import machine as MC
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips import syscall as S
from prover.zkmips.heights import check_preset
from vm.elf import Program, load_elf
from vm.image import content_digest

IMAGE_ID_DOMAIN = b"zkmips-image-v2"
#: Proving keys kept per process (a worker proves many jobs of few programs).
KEY_CACHE_SIZE = 4
K = TypeVar("K")


def image_id_of(vk_digest: bytes, entry: int) -> bytes:
    return keccak256(IMAGE_ID_DOMAIN + vk_digest + struct.pack("<I", entry & 0xFFFFFFFF))


@dataclass
class ProgramKey:
    """Everything the prover derives from a program once: its tables, proof system,
    proving key and image id."""

    program: Program
    params: FriParams
    program_rows: np.ndarray
    image: M.MemoryImage
    tables: list[Table]
    system: System
    pk: stark.ProvingKey

    @property
    def entry(self) -> int:
        return int(self.program.entry)

    @property
    def image_id(self) -> bytes:
        return image_id_of(self.pk.vk.digest, self.entry)

    @classmethod
    def setup(cls, program: Program | bytes, params: FriParams = DEFAULT) -> "ProgramKey":
        if not isinstance(program, Program):
            program = load_elf(program)
        check_preset(stark.min_hiding_rows(params), params.name)
        rows = P.program_rows(program)
        image = S.kernel_image(M.memory_image(program), program.end)
        tables = MC.build_tables(rows, image)
        system = MC.build_system(tables)
        return cls(program, params, rows, image, tables, system, stark.setup(system, params, hiding=True))


class KeyCache(Generic[K]):
    """Keys derived from a program, cached per (initial-state digest, preset) in this
    process (a worker proves many jobs of few programs): the tables are functions of
    that state."""

    def __init__(self, setup: Callable[[Program, FriParams], K], size: int = KEY_CACHE_SIZE):
        self._setup = setup
        self._size = size
        self._keys: "OrderedDict[tuple[bytes, str], K]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, program: Program | bytes | str, params: FriParams) -> K:
        if not isinstance(program, Program):
            program = load_elf(program)
        tag = (content_digest(program), params.name)
        with self._lock:
            if tag in self._keys:
                self._keys.move_to_end(tag)
                return self._keys[tag]
        key = self._setup(program, params)
        with self._lock:
            self._keys[tag] = key
            while len(self._keys) > self._size:
                self._keys.popitem(last=False)
        return key


_program_keys: KeyCache[ProgramKey] = KeyCache(ProgramKey.setup)


def program_key(program: Program | bytes | str, params: FriParams = DEFAULT) -> ProgramKey:
    """The proving key of a whole-run proof of a program (cached, :class:`KeyCache`)."""
    return _program_keys.get(program, params)


def image_id(program: Program | bytes | str, params: FriParams = DEFAULT) -> bytes:
    """The image id of a program under ``params`` (what its receipts claim)."""
    return program_key(program, params).image_id


@lru_cache(maxsize=1)
def verifier_system() -> System:
    return MC.build_system(MC.verifier_tables())


@lru_cache(maxsize=16)
def verifying_key(params: FriParams, pre_root: bytes, pre_log_heights: tuple[int | None, ...]) -> stark.VerifyingKey:
    """The verifying key a receipt names by its preprocessed root and heights."""
    return stark.verifying_key(verifier_system(), params, True, pre_root, pre_log_heights)

