"""Fixtures of the marketplace's tests: users with credits, a program, real receipts."""

from __future__ import annotations

import functools

import pytest

from tests.conftest import guest

HELLO_INPUT = b"zkMIPS market\n"


@functools.lru_cache(maxsize=None)
def real_receipt(name: str = "hello", public_input: bytes = HELLO_INPUT, private_input: bytes = b"") -> bytes:
    """A real receipt at the default (sound) preset, proven once per test process (~5 s)."""
    from prover.security import DEFAULT
    from prover.zkmips.segment_receipt import prove_segmented
    from prover.zkmips.segments import LocalRunner
    runner = LocalRunner(1)
    try:
        return prove_segmented(guest(name).read_bytes(), public_input, private_input, params=DEFAULT,
                               runner=runner).encode()
    finally:
        runner.close()


@pytest.fixture
def elf() -> bytes:
    return guest("hello").read_bytes()


@pytest.fixture
def market(db):
    """A client with 1,000,000 credits and an operator with 1,000,000 credits of collateral."""
    from marketplace import services

    class Market:
        client = services.register("alice", "password-alice")
        services.faucet(client, 1_000_000)
        op_user = services.register("prover1", "password-prover", operator=True)
        services.faucet(op_user, 1_000_000, to_operator=True)
        operator = op_user.operator
    return Market


@pytest.fixture
def program(market, elf):
    from marketplace import services
    return services.upload_program(market.client, elf, "hello-O2.elf")
