"""The STARK engine under the zkMIPS: BabyBear field, NTT, keccak Merkle commitments,
Fiat-Shamir transcript, FRI, AIR expression layer, LogUp, multi-table proofs."""

from prover.errors import VerificationError

__all__ = ["VerificationError"]
