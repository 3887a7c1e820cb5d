"""Chains for the settlement tests: every contract test runs on the embedded chain (eth-tester
on py-evm) and on anvil (npm ``@foundry-rs/anvil``, a process). Each is started once per test
session (i.e. per xdist worker) and rolled back to a snapshot after each test.

anvil's fixture (``anvil_url``) is in tests/conftest.py: the marketplace's chain tests share it.
"""

from __future__ import annotations

import os

import pytest
from settlement.chain import connect, connect_embedded, deploy_code, revert, snapshot


@pytest.fixture(autouse=True)
def _chain_env(tmp_path_factory, monkeypatch):
    # one compile per test session (per worker), not per test, and nothing written into the
    # work tree; the chain is the one the `chain` fixture picks, never the environment's
    monkeypatch.setenv("ZKMIPS_VYPER_CACHE", os.environ.get(
        "ZKMIPS_VYPER_CACHE", str(tmp_path_factory.getbasetemp() / "vyper-cache")))
    monkeypatch.delenv("ZKMIPS_CHAIN_RPC_URL", raising=False)


@pytest.fixture(scope="session")
def embedded_chain():
    """This session's embedded chain (eth-tester on py-evm)."""
    return connect_embedded()


@pytest.fixture(scope="session")
def row_kernel(embedded_chain) -> str:
    """The row kernel (settlement/evm_row_kernel.py) deployed on the embedded chain."""
    from settlement import evm_row_kernel
    return deploy_code(embedded_chain, evm_row_kernel.runtime_code())


@pytest.fixture(params=["eth_tester", "anvil"])
def chain(request, _chain_env):
    """A Web3 on a clean chain: this session's embedded chain or its anvil, rolled back to a
    snapshot after the test."""
    if request.param == "eth_tester":
        w3 = request.getfixturevalue("embedded_chain")
    else:
        w3 = connect(request.getfixturevalue("anvil_url"))
    snap = snapshot(w3)
    try:
        yield w3
    finally:
        revert(w3, snap)
