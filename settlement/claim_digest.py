"""The digest of a claim, as the market contract computes it (settlement/contracts/market.vy).

A verifier accepts claims by digest and the market rebuilds the digest from the request's own
terms, so both sides must agree bit for bit: keccak-256 of the ABI encoding of
(image_id: bytes32, input_digest: bytes32, journal_digest: bytes32, exit_code: uint32,
cycles: uint64) — five 32-byte words, the integers big-endian and left-padded with zeros.
tests/settlement/test_market_contract.py checks this against the contract itself.
"""

from __future__ import annotations

from Crypto.Hash import keccak as _keccak


def keccak256(data: bytes) -> bytes:
    """Ethereum's keccak-256 (not SHA3-256)."""
    return _keccak.new(data=data, digest_bits=256).digest()


def _word(value: bytes | int, bits: int | None = None) -> bytes:
    if isinstance(value, bytes):
        if len(value) != 32:
            raise ValueError(f"expected 32 bytes, got {len(value)}")
        return value
    if bits is None or not 0 <= value < 1 << bits:
        raise ValueError(f"{value} does not fit in uint{bits}")
    return value.to_bytes(32, "big")


def claim_digest(image_id: bytes, input_digest: bytes, journal_digest: bytes,
                 exit_code: int, cycles: int) -> bytes:
    """The 32-byte digest the market asks its verifier about for this claim."""
    return keccak256(_word(image_id) + _word(input_digest) + _word(journal_digest)
                     + _word(exit_code, 32) + _word(cycles, 64))
