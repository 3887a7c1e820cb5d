"""Names of a program's initial state: its content digest and its image id.

``content_digest`` = keccak256("zkmips-image-v1" || entry || initial registers || memory),
where the registers are the 32 GPRs, LO, HI, PC and NPC as little-endian u32, and memory
is every page holding a non-zero byte, in address order, as (page address u32 || 4096
bytes). The initial stack (argv, auxv, AT_RANDOM bytes) is part of memory, so it covers
everything the program starts from; inputs are not part of it (the claim binds them).

``image_id`` is what receipts name a program by: the digest of the program's verifying
key under the default proof parameters (``prover.zkmips.keys``), which commits to the
same initial state (the Image table) and to the decoded code (the Program table). It is
computed by the prover's setup (a few seconds, cached per program in a process).
"""

from __future__ import annotations

import struct

from Crypto.Hash import keccak

from vm.boot import initial_state
from vm.elf import Program, load_elf
from vm.layout import NPC

CONTENT_DIGEST_DOMAIN = b"zkmips-image-v1"


def content_digest(program: Program | bytes | str) -> bytes:
    """32-byte digest of the program's initial memory image, entry point and registers."""
    if not isinstance(program, Program):
        program = load_elf(program)
    memory, regs = initial_state(program)
    h = keccak.new(digest_bits=256)
    h.update(CONTENT_DIGEST_DOMAIN)
    h.update(struct.pack("<I", program.entry))
    h.update(struct.pack(f"<{NPC + 1}I", *(int(v) for v in regs[: NPC + 1])))
    for addr, data in memory.nonzero_pages():
        h.update(struct.pack("<I", addr))
        h.update(data)
    return h.digest()


def image_id(program: Program | bytes | str) -> bytes:
    """The image id the receipts of ``zkmips prove`` carry for this program (segmented
    receipts, default proof parameters)."""
    from prover.zkmips.segments import image_id as proving_image_id   # the prover builds on the VM
    return proving_image_id(program)
