"""On-chain settlement: compile the Vyper contracts, deploy them, and call the market.

Why this module exists: the marketplace's `onchain` mode moves money with the escrow contract
settlement/contracts/market.vy instead of the database ledger. This module is the only place
that knows how to turn the Vyper sources into deployable code and how to talk to a chain, so
the rest of the project sees typed Python methods, not ABIs.

- Compiling uses the `vyper` package's Python API. The output is cached under
  ``var/vyper-cache/`` (git-ignored; ``ZKMIPS_VYPER_CACHE`` overrides it), keyed by the hash of
  the source and the compiler version, because compiling takes ~0.5 s per contract and tests
  deploy fresh contracts often.
- The chain is the embedded one (eth-tester on py-evm: in process, instant blocks, funded
  unlocked accounts) unless ``ZKMIPS_CHAIN_RPC_URL`` or an explicit URL names a JSON-RPC node.
  Transactions are sent from node-managed accounts (``eth_sendTransaction``); signing with
  local keys is left for when a real network is targeted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
_REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Compiled:
    """What deploying and calling a contract needs."""
    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def cache_dir() -> Path:
    return Path(os.environ.get("ZKMIPS_VYPER_CACHE", _REPO_ROOT / "var" / "vyper-cache"))


def _sources_key() -> str:
    """Hash of every Vyper source: a contract's bytecode depends on the modules it imports."""
    import vyper
    h = hashlib.sha256(vyper.__version__.encode())
    for path in sorted(CONTRACTS_DIR.rglob("*.vy")):
        h.update(str(path.relative_to(CONTRACTS_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def compile_contract(name: str) -> Compiled:
    """Compile ``settlement/contracts/<name>.vy`` (``name`` may name a sub-folder, e.g.
    ``verifier/stark``; imports resolve from the contracts folder), or read the cached output
    of the same sources."""
    path = CONTRACTS_DIR / f"{name}.vy"
    cached = cache_dir() / f"{name.replace('/', '.')}-{_sources_key()}.json"
    if cached.exists():
        data = json.loads(cached.read_text())
        return Compiled(name, data["abi"], data["bytecode"])
    from vyper.compiler import compile_code
    from vyper.compiler.input_bundle import FilesystemInputBundle
    out = compile_code(path.read_text(), contract_path=path.relative_to(CONTRACTS_DIR),
                       input_bundle=FilesystemInputBundle([CONTRACTS_DIR]),
                       output_formats=["abi", "bytecode"])
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")  # write then rename: parallel test workers never read half a file
    tmp.write_text(json.dumps({"abi": out["abi"], "bytecode": out["bytecode"]}))
    tmp.replace(cached)
    return Compiled(name, out["abi"], out["bytecode"])


def connect(url: str | None = None) -> Web3:
    """A Web3 on ``url``, else on ``ZKMIPS_CHAIN_RPC_URL``, else on a fresh embedded chain."""
    url = url or os.environ.get("ZKMIPS_CHAIN_RPC_URL")
    if url:
        w3 = Web3(Web3.HTTPProvider(url))
    else:
        from web3 import EthereumTesterProvider
        w3 = Web3(EthereumTesterProvider())
    if w3.eth.accounts:
        w3.eth.default_account = w3.eth.accounts[0]
    return w3


class Reverted(Exception):
    """A transaction the contract refused; ``str(e)`` carries the contract's reason."""


def _revert_errors() -> tuple[type[Exception], ...]:
    # A JSON-RPC node reports a revert as web3's ContractLogicError; the embedded chain raises
    # eth-tester's TransactionFailed from gas estimation. Callers see one exception for both.
    from web3.exceptions import ContractLogicError
    try:
        from eth_tester.exceptions import TransactionFailed
    except ImportError:  # eth-tester is only needed for the embedded chain
        return (ContractLogicError,)
    return (ContractLogicError, TransactionFailed)


def send(w3: Web3, call: Any, sender: str, value: int = 0) -> TxReceipt:
    """Send a contract call as a transaction and wait for it; a refused call raises Reverted."""
    try:
        tx_hash = call.transact({"from": sender, "value": value})
    except _revert_errors() as e:
        raise Reverted(str(e)) from e
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:  # mined but reverted (a node that skipped estimation)
        raise Reverted(f"transaction {tx_hash.hex()} reverted")
    return receipt


def deploy(w3: Web3, name: str, *args: Any, sender: str | None = None) -> Contract:
    """Deploy the contract ``name`` with constructor ``args``; the bound contract object."""
    compiled = compile_contract(name)
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    receipt = send(w3, factory.constructor(*args), sender or w3.eth.default_account)
    return w3.eth.contract(address=receipt["contractAddress"], abi=compiled.abi)


_STATES = {0: "none", 1: "open", 2: "locked", 3: "fulfilled", 4: "refunded"}


@dataclass(frozen=True)
class RequestView:
    """A request as the contract stores it (``state`` by name)."""
    client: str
    image_id: bytes
    input_digest: bytes
    max_cycles: int
    price_min: int
    price_max: int
    posted_at: int
    ramp_seconds: int
    lock_timeout: int
    deadline: int
    stake: int
    state: str
    prover: str
    lock_price: int
    lock_expires: int
    bounty: int


class MarketClient:
    """Typed calls on a deployed market contract; every transaction returns its receipt (gas in ``gasUsed``)."""

    def __init__(self, w3: Web3, contract: Contract):
        self.w3 = w3
        self.contract = contract

    @classmethod
    def deploy(cls, w3: Web3, verifier: str, *, sender: str | None = None) -> MarketClient:
        """Deploy a market that trusts the verifier contract at ``verifier`` (fixed for its lifetime)."""
        return cls(w3, deploy(w3, "market", verifier, sender=sender))

    @property
    def address(self) -> str:
        return self.contract.address

    def _send(self, fn: str, *args: Any, sender: str, value: int = 0) -> TxReceipt:
        return send(self.w3, getattr(self.contract.functions, fn)(*args), sender, value)

    # funds
    def deposit(self, amount: int, *, sender: str) -> TxReceipt:
        return self._send("deposit", sender=sender, value=amount)

    def withdraw(self, amount: int, *, sender: str) -> TxReceipt:
        return self._send("withdraw", amount, sender=sender)

    def balance_of(self, account: str) -> int:
        return self.contract.functions.balances(account).call()

    # requests
    def post_request(self, request_id: bytes, *, image_id: bytes, input_digest: bytes,
                     max_cycles: int, price_min: int, price_max: int, ramp_seconds: int,
                     lock_timeout: int, deadline: int, stake: int, sender: str) -> TxReceipt:
        return self._send("post_request", request_id, image_id, input_digest, max_cycles,
                          price_min, price_max, ramp_seconds, lock_timeout, deadline, stake,
                          sender=sender)

    def lock(self, request_id: bytes, *, sender: str) -> TxReceipt:
        return self._send("lock", request_id, sender=sender)

    def fulfill(self, request_id: bytes, *, journal_digest: bytes, exit_code: int, cycles: int,
                sender: str) -> TxReceipt:
        return self._send("fulfill", request_id, journal_digest, exit_code, cycles, sender=sender)

    def slash(self, request_id: bytes, *, sender: str) -> TxReceipt:
        return self._send("slash", request_id, sender=sender)

    def refund(self, request_id: bytes, *, sender: str) -> TxReceipt:
        return self._send("refund", request_id, sender=sender)

    # views
    def current_price(self, request_id: bytes) -> int:
        return self.contract.functions.current_price(request_id).call()

    def request(self, request_id: bytes) -> RequestView:
        fields = self.contract.functions.requests(request_id).call()
        view = RequestView(*fields)
        return RequestView(**{**view.__dict__, "state": _STATES[view.state]})

    def claim_digest(self, image_id: bytes, input_digest: bytes, journal_digest: bytes,
                     exit_code: int, cycles: int) -> bytes:
        return bytes(self.contract.functions.claim_digest(
            image_id, input_digest, journal_digest, exit_code, cycles).call())
