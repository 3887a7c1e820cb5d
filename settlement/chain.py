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
- Both kinds of chain run with the same block gas limit (``BLOCK_GAS_LIMIT``, mainnet's 30M):
  the embedded chain's genesis sets it and ``start_anvil`` passes it to anvil (npm
  ``@foundry-rs/anvil``, installed by ``make node``), whose 24 KB contract size limit stays on.
  ``advance_time``/``set_next_timestamp``/``snapshot``/``revert`` hide how each moves time
  and rolls state back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.types import TxReceipt

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
_REPO_ROOT = Path(__file__).resolve().parent.parent

BLOCK_GAS_LIMIT = 30_000_000
"""Gas limit of every block, on the embedded chain and on anvil alike (Ethereum mainnet's)."""

ANVIL_BIN = _REPO_ROOT / "node_modules" / ".bin" / "anvil"
"""anvil from npm (``@foundry-rs/anvil``, pinned in package.json); ``ZKMIPS_ANVIL`` overrides it."""


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
    if not url:
        return connect_embedded()
    w3 = Web3(Web3.HTTPProvider(url))
    if w3.eth.accounts:
        w3.eth.default_account = w3.eth.accounts[0]
    return w3


def connect_embedded() -> Web3:
    """A Web3 on a fresh embedded chain (eth-tester on py-evm) with ``BLOCK_GAS_LIMIT`` blocks."""
    from eth_tester import EthereumTester, PyEVMBackend
    from web3 import EthereumTesterProvider
    genesis = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": BLOCK_GAS_LIMIT})
    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend(genesis_parameters=genesis))))
    w3.eth.default_account = w3.eth.accounts[0]
    return w3


# --- the two kinds of chain: embedded (eth-tester) and JSON-RPC (anvil) -------------------------

def _tester(w3: Web3) -> Any:
    """The embedded chain's EthereumTester, or None for a JSON-RPC node."""
    return getattr(w3.provider, "ethereum_tester", None)


def is_embedded(w3: Web3) -> bool:
    return _tester(w3) is not None


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(method, list(params))
    if "error" in response:
        raise RuntimeError(f"{method}: {response['error']}")
    return response.get("result")


def set_next_timestamp(w3: Web3, timestamp: int) -> None:
    """The next block (the next transaction's) is mined at ``timestamp`` (after the latest).
    eth-tester mines a block at ``timestamp - 1`` on the way; anvil mines nothing."""
    tester = _tester(w3)
    if tester is not None:
        tester.time_travel(timestamp)
    else:
        _rpc(w3, "evm_setNextBlockTimestamp", timestamp)


def advance_time(w3: Web3, seconds: int) -> int:
    """Mine a block ``seconds`` after the latest one; its timestamp."""
    target = w3.eth.get_block("latest")["timestamp"] + seconds
    tester = _tester(w3)
    if tester is not None:
        tester.time_travel(target)  # mines up to target - 1
        tester.mine_blocks()         # and a block at target
    else:
        _rpc(w3, "evm_setNextBlockTimestamp", target)
        _rpc(w3, "evm_mine")
    return w3.eth.get_block("latest")["timestamp"]


def snapshot(w3: Web3) -> Any:
    """An id to ``revert`` the chain's state to (on anvil each id can be reverted to once)."""
    tester = _tester(w3)
    return tester.take_snapshot() if tester is not None else _rpc(w3, "evm_snapshot")


def revert(w3: Web3, snapshot_id: Any) -> None:
    """Roll the chain back to ``snapshot_id``."""
    tester = _tester(w3)
    if tester is not None:
        tester.revert_to_snapshot(snapshot_id)
    elif not _rpc(w3, "evm_revert", snapshot_id):
        raise RuntimeError(f"evm_revert: no snapshot {snapshot_id}")


def anvil_path() -> Path:
    return Path(os.environ.get("ZKMIPS_ANVIL", ANVIL_BIN))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return "result" in json.loads(response.read())
    except OSError:
        return False


def anvil_command(port: int, *, state: Path | None = None) -> list[str]:
    """anvil's command line: 127.0.0.1:``port``, ``BLOCK_GAS_LIMIT``; with ``state``, the
    chain is loaded from that file at start and written back at exit (``make run`` keeps its
    chain across restarts, as it keeps its database)."""
    command = [str(anvil_path()), "--host", "127.0.0.1", "--port", str(port),
               "--gas-limit", str(BLOCK_GAS_LIMIT), "--silent"]
    return command + ["--state", str(state)] if state is not None else command


def wait_for_node(url: str, timeout: float = 60.0) -> bool:
    """True once the JSON-RPC node at ``url`` answers (False after ``timeout`` seconds)."""
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        if _answers(url):
            return True
        time.sleep(0.1)
    return False


def start_anvil(port: int | None = None, *, timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Launch anvil on 127.0.0.1 (``port``, else a free one) with ``BLOCK_GAS_LIMIT``; wait
    until it answers JSON-RPC. Returns the process and its URL; ``stop_anvil`` ends it."""
    binary = anvil_path()
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: run `make node` (npm ci)")
    for _ in range(3):  # a free port can be taken between the probe and anvil's bind
        chosen = port or _free_port()
        url = f"http://127.0.0.1:{chosen}"
        process = subprocess.Popen(anvil_command(chosen), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        give_up = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < give_up:
            if _answers(url):
                return process, url
            time.sleep(0.05)
        stop_anvil(process)
        if port is not None:
            break
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    raise RuntimeError(f"anvil did not start on {url}: {stderr.strip()[-500:]}")


def stop_anvil(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()


@contextlib.contextmanager
def anvil(port: int | None = None) -> Iterator[str]:
    """``with anvil() as url:`` a fresh anvil for the block, stopped afterwards."""
    process, url = start_anvil(port)
    try:
        yield url
    finally:
        stop_anvil(process)


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
    tx: dict[str, Any] = {"from": sender, "value": value}
    try:
        # estimated on the pending block, where the transaction will be mined: a node like anvil
        # estimates on the latest block by default, which misses evm_setNextBlockTimestamp
        # (eth-tester estimates on its pending block already and takes no block argument)
        # (with a margin: the block it is mined in may differ from the one estimated on; never
        # above the block's gas limit, which the node would refuse)
        if not is_embedded(w3):
            estimate = call.estimate_gas(tx, block_identifier="pending")
            tx["gas"] = min(estimate * 5 // 4 + 10_000, max(estimate, w3.eth.get_block("latest")["gasLimit"]))
        tx_hash = call.transact(tx)
    except _revert_errors() as e:
        raise Reverted(str(e)) from e
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    if receipt["status"] != 1:  # mined but reverted: replay it on its block's parent for the reason
        try:
            call.call({"from": sender, "value": value, "gas": receipt["gasUsed"] * 2},
                      block_identifier=receipt["blockNumber"] - 1)
        except _revert_errors() as e:
            raise Reverted(f"transaction {tx_hash.hex()} reverted: {e}") from e
        raise Reverted(f"transaction {tx_hash.hex()} reverted (out of gas or the state changed)")
    return receipt


def deploy(w3: Web3, name: str, *args: Any, sender: str | None = None) -> Contract:
    """Deploy the contract ``name`` with constructor ``args``; the bound contract object."""
    compiled = compile_contract(name)
    factory = w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
    receipt = send(w3, factory.constructor(*args), sender or w3.eth.default_account)
    return w3.eth.contract(address=receipt["contractAddress"], abi=compiled.abi)


def deploy_code(w3: Web3, runtime: bytes, sender: str | None = None) -> str:
    """Deploy ``runtime`` as a contract's code as it is (the verifier's assembled kernels and
    table programs); its address."""
    from settlement.evm_asm import deployment_code
    tx = w3.eth.send_transaction({"from": sender or w3.eth.default_account, "data": deployment_code(runtime)})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    if receipt["status"] != 1:
        raise Reverted("deploying a code contract failed")
    return receipt["contractAddress"]


_STATES = {0: "none", 1: "open", 2: "locked", 3: "fulfilled", 4: "refunded", 5: "proposed",
           6: "challenged"}

# what MarketClient.deploy gives the optimistic mode unless told otherwise
DEFAULT_OPTIMISTIC_BOND = 10**16      # wei (0.01 ether), for the prover and for a challenger
DEFAULT_CHALLENGE_WINDOW = 3_600      # seconds to challenge an optimistic claim
DEFAULT_RESPONSE_WINDOW = 3_600       # seconds for the prover to answer a challenge


@dataclass(frozen=True)
class RequestView:
    """A request as the contract stores it (``state`` by name). ``lock_expires`` is when the
    current phase ends: the lock while ``locked``, the challenge window while ``proposed``, the
    response window while ``challenged`` (0 when none)."""
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


@dataclass(frozen=True)
class OptimisticClaimView:
    """A request's optimistic claim: its digest, when the current window ends (challenge window
    while ``proposed``, response window while ``challenged``; the request's ``lock_expires``)
    and the challenger (zero address until challenged)."""
    claim_digest: bytes
    window_ends: int
    challenger: str


class MarketClient:
    """Typed calls on a deployed market contract; every transaction returns its receipt (gas in ``gasUsed``)."""

    def __init__(self, w3: Web3, contract: Contract):
        self.w3 = w3
        self.contract = contract

    @classmethod
    def deploy(cls, w3: Web3, verifier: str, *, bond: int = DEFAULT_OPTIMISTIC_BOND,
               challenge_window: int = DEFAULT_CHALLENGE_WINDOW,
               response_window: int = DEFAULT_RESPONSE_WINDOW,
               sender: str | None = None) -> MarketClient:
        """Deploy a market that trusts the verifier contract at ``verifier``, with the optimistic
        mode's bond (wei) and windows (seconds); all fixed for the contract's lifetime."""
        return cls(w3, deploy(w3, "market", verifier, bond, challenge_window, response_window,
                              sender=sender))

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

    # optimistic mode
    def submit_optimistic(self, request_id: bytes, *, journal: bytes, exit_code: int, cycles: int,
                          sender: str) -> TxReceipt:
        return self._send("submit_optimistic", request_id, journal, exit_code, cycles, sender=sender)

    def finalize_optimistic(self, request_id: bytes, *, sender: str) -> TxReceipt:
        return self._send("finalize_optimistic", request_id, sender=sender)

    def challenge(self, request_id: bytes, *, sender: str) -> TxReceipt:
        return self._send("challenge", request_id, sender=sender)

    def respond(self, request_id: bytes, *, sender: str) -> TxReceipt:
        return self._send("respond", request_id, sender=sender)

    def resolve_challenge(self, request_id: bytes, *, sender: str) -> TxReceipt:
        return self._send("resolve_challenge", request_id, sender=sender)

    def optimistic_claim(self, request_id: bytes) -> OptimisticClaimView:
        digest, challenger = self.contract.functions.optimistic_claims(request_id).call()
        ends = self.request(request_id).lock_expires  # the contract keeps the window's end there
        return OptimisticClaimView(bytes(digest), ends, challenger)

    @property
    def optimistic_bond(self) -> int:
        return self.contract.functions.OPTIMISTIC_BOND().call()

    @property
    def challenge_window(self) -> int:
        return self.contract.functions.CHALLENGE_WINDOW().call()

    @property
    def response_window(self) -> int:
        return self.contract.functions.RESPONSE_WINDOW().call()

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
