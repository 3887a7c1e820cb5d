"""A small guest without a C library whose claim depends on everything: it reads its
public and private input (raw o32 system calls, bare/rawsys.h), writes a hash-like mix of
both and the input itself to the journal, and exits with a code computed from them. Its
loop runs branches, loads, stores, mul and divu (with gcc's teq divide-by-zero check)."""

from __future__ import annotations

from pathlib import Path

BARE = Path(__file__).resolve().parent / "bare"
GUEST = r"""
#include "rawsys.h"
static unsigned char in[64], secret[16], out[32];
void __start(void) {
  long n = sys3(4003, 0, (long)in, sizeof in);
  long m = sys3(4003, 3, (long)secret, sizeof secret);
  unsigned h = 2166136261u;
  for (long i = 0; i < 32; i++) {
    h = (h ^ in[i % (n ? n : 1)] ^ secret[i % (m ? m : 1)]) * 16777619u;
    out[i] = (unsigned char)(h >> 24);
  }
  sys3(4004, 1, (long)out, 32);
  sys3(4004, 1, (long)in, n);
  sys3(4001, (long)(h & 0x7f), 0, 0);
  for (;;) ;
}
"""
PUBLIC, PRIVATE = b"the public input of this run", b"s3cret"


def build_io_guest(compile_c, source: str = GUEST) -> bytes:
    return compile_c(source, "-O1", ("-nostdlib", "-mno-abicalls", "-fno-pic", f"-I{BARE}")).read_bytes()
