"""Prices: the estimate shown for a dry run, and the reverse Dutch auction's ramp.

A job's price rises linearly from ``price_min`` at ``auction_start`` to ``price_max`` after
``ramp_seconds`` and stays there: the first worker to lock takes it at the current price,
so a job is proven by whoever finds it worth the least (Boundless's auction).

The settlement mode changes what proving costs the worker: ``onchain`` makes it pay the gas
of verifying the receipt on chain (the costly, fast path), ``optimistic`` only the gas of
locking and posting the journal (the cheap, slow path: paid after the challenge window).
The estimate adds that gas, priced at ``settings.GAS_PRICE_GWEI``, to the proving price.
"""

from __future__ import annotations

import math
from datetime import datetime

from marketplace.limits import CREDITS_PER_MEGACYCLE, MIN_PRICE
from settlement import WEI_PER_CREDIT

#: Gas of the chain modes at the `compact` preset (bench/results/gas.json, measured by
#: bench/gas.py; a test keeps them within 10% of it): verifying a receipt costs its proofs
#: (a one-segment run: the joined proof; longer runs: the memory proof and each segment's)
#: and the final receipt check; the optimistic path a lock, the posted journal and its
#: finalization.
VERIFY_GAS_JOINED = 28_900_000
VERIFY_GAS_MEMORY_PROOF = 9_400_000
VERIFY_GAS_PER_SEGMENT = 27_900_000
VERIFY_GAS_RECEIPT = 350_000
LOCK_GAS = 130_000
FULFILL_GAS = 80_000
OPTIMISTIC_GAS = 135_000
#: Cycles per segment the gas estimate assumes (the prover's default segment size).
SEGMENT_CYCLES = 1 << 18


def settlement_gas(cycles: int, mode: str) -> int:
    """Gas a worker spends to settle a run of ``cycles`` cycles in ``mode``."""
    if mode == "local":
        return 0
    if mode == "optimistic":
        return LOCK_GAS + OPTIMISTIC_GAS
    if mode == "onchain":
        segments = max(1, math.ceil(cycles / SEGMENT_CYCLES))
        proofs = VERIFY_GAS_JOINED if segments == 1 else VERIFY_GAS_MEMORY_PROOF + segments * VERIFY_GAS_PER_SEGMENT
        return LOCK_GAS + proofs + VERIFY_GAS_RECEIPT + FULFILL_GAS
    raise ValueError(f"unknown settlement mode {mode!r}")


def gas_credits(gas: int, gas_price_gwei: float, wei_per_credit: int) -> int:
    """The credits that ``gas`` costs at ``gas_price_gwei`` (rounded up)."""
    return math.ceil(gas * gas_price_gwei * 10**9 / wei_per_credit)


def estimate(cycles: int, mode: str = "local", *, gas_price_gwei: float = 1.0,
             wei_per_credit: int = WEI_PER_CREDIT) -> dict[str, int]:
    """A suggested price range for a run of ``cycles`` cycles settled in ``mode``."""
    fair = max(MIN_PRICE, math.ceil(cycles * CREDITS_PER_MEGACYCLE / 1_000_000))
    fair += gas_credits(settlement_gas(cycles, mode), gas_price_gwei, wei_per_credit)
    return {"price_min": max(MIN_PRICE, fair // 2), "price_max": 2 * fair}


def price_at(price_min: int, price_max: int, auction_start: datetime, ramp_seconds: int, now: datetime) -> int:
    """The auction's price at ``now`` (integer credits, rounded down; exact integer arithmetic)."""
    if ramp_seconds <= 0:
        return price_max
    delta = now - auction_start
    elapsed_us = max(0, (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)
    ramp_us = ramp_seconds * 1_000_000
    return price_min + (price_max - price_min) * min(elapsed_us, ramp_us) // ramp_us
