"""Sparse, paged guest memory shared between Python and the numba kernels.

A flat page table (one int32 per 4 KiB page of the 32-bit space, 4 MiB in all) maps each
page to a slot of a growable pool of pages, or marks it PAGE_ZERO (mapped but never
written: reads give zero and cost no storage) or PAGE_UNMAPPED (access faults). Words are
stored as uint32 in the host's little-endian order, which is also the guest's, so a page
viewed as bytes is exactly the guest's bytes.
"""

from __future__ import annotations

import numpy as np

from vm.layout import (
    NUM_PAGES, PAGE_BITS, PAGE_SIZE, PAGE_UNMAPPED, PAGE_ZERO, WORDS_PER_PAGE,
)


class Memory:
    """Guest memory: a page table, a page pool and the count of pool slots in use."""

    def __init__(self, all_mapped: bool = False, initial_pages: int = 256) -> None:
        fill = PAGE_ZERO if all_mapped else PAGE_UNMAPPED
        self.ptab = np.full(NUM_PAGES, fill, dtype=np.int32)
        self.pages = np.zeros((initial_pages, WORDS_PER_PAGE), dtype=np.uint32)
        self.used = 0  # the executor keeps its own copy in meta[META_PAGES_USED]

    # --- mapping ----------------------------------------------------------------------
    @staticmethod
    def _page_range(addr: int, length: int) -> range:
        if length <= 0:
            return range(0)
        return range(addr >> PAGE_BITS, ((addr + length - 1) >> PAGE_BITS) + 1)

    def map_zero(self, addr: int, length: int) -> None:
        """Map [addr, addr+length) as fresh zero pages (replacing what was there)."""
        for p in self._page_range(addr, length):
            self.ptab[p] = PAGE_ZERO

    def map_keep(self, addr: int, length: int) -> None:
        """Map [addr, addr+length), keeping pages that are already mapped."""
        for p in self._page_range(addr, length):
            if self.ptab[p] == PAGE_UNMAPPED:
                self.ptab[p] = PAGE_ZERO

    def unmap(self, addr: int, length: int) -> None:
        for p in self._page_range(addr, length):
            self.ptab[p] = PAGE_UNMAPPED

    def is_mapped(self, addr: int, length: int = 1) -> bool:
        return all(self.ptab[p] != PAGE_UNMAPPED for p in self._page_range(addr, length))

    # --- the pool ---------------------------------------------------------------------
    def grow(self) -> None:
        """Double the page pool (called when a kernel reports STATUS_NEED_PAGES)."""
        bigger = np.zeros((self.pages.shape[0] * 2, WORDS_PER_PAGE), dtype=np.uint32)
        bigger[: self.pages.shape[0]] = self.pages
        self.pages = bigger

    def _slot_for_write(self, page: int) -> int:
        slot = int(self.ptab[page])
        if slot >= 0:
            return slot
        if slot == PAGE_UNMAPPED:
            raise MemoryError(f"write to unmapped page 0x{page << PAGE_BITS:08x}")
        if self.used >= self.pages.shape[0]:
            self.grow()
        slot = self.used
        self.used += 1
        self.ptab[page] = slot
        return slot

    # --- byte access from Python (loader, syscalls, tests) -------------------------------
    def write(self, addr: int, data: bytes) -> None:
        """Copy bytes into mapped guest memory (raises MemoryError if unmapped)."""
        view = memoryview(bytes(data))
        pos = 0
        while pos < len(view):
            a = (addr + pos) & 0xFFFFFFFF
            off = a & (PAGE_SIZE - 1)
            n = min(PAGE_SIZE - off, len(view) - pos)
            slot = self._slot_for_write(a >> PAGE_BITS)
            self.pages[slot].view(np.uint8)[off: off + n] = np.frombuffer(view[pos: pos + n], np.uint8)
            pos += n

    def read(self, addr: int, length: int) -> bytes:
        """Bytes of guest memory (raises MemoryError if any page is unmapped)."""
        out = bytearray()
        pos = 0
        while pos < length:
            a = (addr + pos) & 0xFFFFFFFF
            off = a & (PAGE_SIZE - 1)
            n = min(PAGE_SIZE - off, length - pos)
            slot = int(self.ptab[a >> PAGE_BITS])
            if slot >= 0:
                out += self.pages[slot].view(np.uint8)[off: off + n].tobytes()
            elif slot == PAGE_ZERO:
                out += bytes(n)
            else:
                raise MemoryError(f"read of unmapped address 0x{a:08x}")
            pos += n
        return bytes(out)

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        out = bytearray()
        while len(out) < limit:
            chunk = self.read(addr + len(out), min(64, PAGE_SIZE - ((addr + len(out)) & (PAGE_SIZE - 1))))
            nul = chunk.find(b"\0")
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
        return bytes(out)

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def write_u32(self, addr: int, value: int) -> None:
        self.write(addr, (value & 0xFFFFFFFF).to_bytes(4, "little"))

    # --- whole-state operations ------------------------------------------------------------
    def nonzero_pages(self):
        """Yield (page_address, 4096 bytes) for every mapped page holding a non-zero byte,
        in address order."""
        for page in np.nonzero(self.ptab >= 0)[0]:
            data = self.pages[self.ptab[page]]
            if data.any():
                yield int(page) << PAGE_BITS, data.tobytes()

    def copy(self) -> "Memory":
        clone = Memory.__new__(Memory)
        clone.ptab = self.ptab.copy()
        clone.pages = self.pages[: max(self.used, 1)].copy()
        clone.used = self.used
        return clone
