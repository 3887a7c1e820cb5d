"""Sizes and bounds the marketplace enforces on what clients and workers send (bytes, cycles, seconds)."""

MAX_ELF_BYTES = 8 << 20
MAX_PUBLIC_INPUT_BYTES = 4 << 20
MAX_PRIVATE_INPUT_BYTES = 16 << 20
MAX_RECEIPT_BYTES = 64 << 20
#: The longest run a job may ask for (the marketplace dry-runs every job before accepting it).
MAX_JOB_CYCLES = 1 << 28
DEFAULT_MAX_CYCLES = 1 << 24
#: Bounds of a job's timers.
MIN_LOCK_TIMEOUT_S, MAX_LOCK_TIMEOUT_S = 5, 24 * 3600
MIN_DEADLINE_S, MAX_DEADLINE_S = 10, 30 * 24 * 3600
#: After this many rejected receipts a job fails and its client is refunded.
MAX_REJECTIONS = 3
#: The price estimate: credits per million cycles, and the least a job may pay.
CREDITS_PER_MEGACYCLE = 100
MIN_PRICE = 10
