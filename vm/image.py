"""The image id: one digest naming a program's complete initial state.

image_id = keccak256("zkmips-image-v1" || entry || initial registers || memory), where
the registers are the 32 GPRs, LO, HI, PC and NPC as little-endian u32, and memory is
every page holding a non-zero byte, in address order, as (page address u32 || 4096
bytes). The initial stack (argv, auxv, AT_RANDOM bytes) is part of memory, so the id
covers everything the program starts from; inputs are not part of it (they are bound
separately by the claim). Same ELF, same id; any changed loaded byte, another id.
"""

from __future__ import annotations

import struct

from Crypto.Hash import keccak

from vm.boot import initial_state
from vm.elf import Program, load_elf
from vm.layout import NPC

IMAGE_ID_DOMAIN = b"zkmips-image-v1"


def image_id(program: Program | bytes | str) -> bytes:
    """32-byte digest of the program's initial memory image, entry point and registers."""
    if not isinstance(program, Program):
        program = load_elf(program)
    memory, regs = initial_state(program)
    h = keccak.new(digest_bits=256)
    h.update(IMAGE_ID_DOMAIN)
    h.update(struct.pack("<I", program.entry))
    h.update(struct.pack(f"<{NPC + 1}I", *(int(v) for v in regs[: NPC + 1])))
    for addr, data in memory.nonzero_pages():
        h.update(struct.pack("<I", addr))
        h.update(data)
    return h.digest()
