"""Where the marketplace's contracts live on a chain, and how to reach them.

Why this module exists: the marketplace, its settlement worker and every operator's worker
must talk to the same market and receipt-verifier contracts. The marketplace deploys them
once per chain and records the addresses in a small JSON file (``var/chain-<id>.json``);
workers learn them from the offers they read (``Deployment.public()``), never from the
marketplace's files. A record whose chain no longer has the code (a restarted anvil) is
deployed again.

Units: the marketplace's credits are mapped to wei at a fixed rate, ``wei_per_credit``
(1 credit = 10^12 wei by default), so a job's prices and stake mean the same on both sides.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from web3 import Web3

from prover.keccak import keccak256
from settlement import WEI_PER_CREDIT, chain, evm_constraint_kernel, evm_row_kernel, onchain_verifier

#: The FRI preset receipts of chain-settled jobs are proven at: the smallest receipts, so the
#: least calldata and gas (the verifier contracts are registered for this one preset).
CHAIN_PRESET = "compact"


class DeploymentMismatch(Exception):
    """A deployment record that names another chain than the node answering."""


@dataclass(frozen=True)
class Deployment:
    """The addresses of one deployment and the constants workers need to use it."""

    chain_id: int
    preset: str
    market: str
    verifier_stark: str
    verifier_queries: str
    verifier_receipt: str
    wei_per_credit: int
    optimistic_bond: int
    challenge_window: int
    response_window: int
    #: code_version() when it was deployed: a record from other code is not reused
    code_version: str = ""

    def public(self) -> dict:
        """What an offer carries about the chain (nothing secret)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Deployment:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data or k != "code_version"})


@dataclass
class Contracts:
    """A deployment bound to a connection: the market and the receipt verifier."""

    w3: Web3
    deployment: Deployment
    market: chain.MarketClient
    verifier: onchain_verifier.Verifier


def request_id_of(job_id: str) -> bytes:
    """The market request id of a marketplace job (its UUID under a domain tag)."""
    return keccak256(b"zkmips-job:" + str(job_id).encode())


def deploy_all(w3: Web3, *, sender: str, preset: str = CHAIN_PRESET, wei_per_credit: int = WEI_PER_CREDIT,
               bond: int = chain.DEFAULT_OPTIMISTIC_BOND, challenge_window: int = chain.DEFAULT_CHALLENGE_WINDOW,
               response_window: int = chain.DEFAULT_RESPONSE_WINDOW) -> Deployment:
    """Deploy the receipt verifier for ``preset`` and a market that trusts it."""
    verifier = onchain_verifier.deploy(w3, preset, sender=sender)
    market = chain.MarketClient.deploy(w3, verifier.address, bond=bond, challenge_window=challenge_window,
                                       response_window=response_window, sender=sender)
    return Deployment(chain_id=w3.eth.chain_id, preset=preset, market=market.address,
                      verifier_stark=verifier.stark.address, verifier_queries=verifier.queries.address,
                      verifier_receipt=verifier.receipt.address, wei_per_credit=wei_per_credit,
                      optimistic_bond=bond, challenge_window=challenge_window, response_window=response_window,
                      code_version=code_version(preset))


@functools.lru_cache(maxsize=None)
def code_version(preset: str = CHAIN_PRESET) -> str:
    """What a recorded deployment must have been made with to be reused: the contracts'
    sources and compiler, the assembled kernels, and the circuits registered for ``preset``
    (the tables and FRI parameters receipts are proven with). A chain kept across upgrades,
    such as ``make run``'s, would otherwise keep contracts or circuits the code no longer
    speaks to. Computed once per process (a worker asks for every offer it reads)."""
    from prover.zkmips.receipt import params_of
    h = hashlib.sha256(chain._sources_key().encode())
    for code in (evm_row_kernel.runtime_code(), evm_constraint_kernel.runtime_code()):
        h.update(code)
    layout = onchain_verifier.receipt_layout(params_of(preset, allow_insecure=True))
    h.update(repr(tuple(layout.items())).encode())
    return h.hexdigest()[:16]


def _deployed(w3: Web3, dep: Deployment) -> bool:
    return dep.chain_id == w3.eth.chain_id and dep.code_version == code_version(dep.preset) and all(
        len(w3.eth.get_code(a)) > 0 for a in (dep.market, dep.verifier_stark, dep.verifier_queries,
                                              dep.verifier_receipt))


def load_or_deploy(w3: Web3, path: Path, *, sender: str, **options) -> Deployment:
    """The deployment recorded at ``path`` when the chain still has it, else a new one
    (recorded there). A file lock makes processes starting together deploy once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            try:
                dep = Deployment.from_dict(json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError):
                dep = None
            if dep is not None and _deployed(w3, dep) and all(getattr(dep, k) == v for k, v in options.items()
                                                              if k in Deployment.__dataclass_fields__):
                return dep
        dep = deploy_all(w3, sender=sender, **options)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dep.public(), indent=1))
        os.replace(tmp, path)
        return dep


def attach(w3: Web3, dep: Deployment) -> Contracts:
    """Bind a deployment's addresses to ``w3`` (refusing another chain's record)."""
    if dep.chain_id != w3.eth.chain_id:
        raise DeploymentMismatch(f"the deployment is on chain {dep.chain_id}, this node is chain {w3.eth.chain_id}")

    def bound(name: str, address: str):
        return w3.eth.contract(address=Web3.to_checksum_address(address), abi=chain.compile_contract(name).abi)

    from prover.zkmips.receipt import params_of
    params = params_of(dep.preset, allow_insecure=False)
    verifier = onchain_verifier.Verifier(w3, params, bound("verifier/stark", dep.verifier_stark),
                                         bound("verifier/queries", dep.verifier_queries),
                                         bound("verifier/receipt", dep.verifier_receipt))
    return Contracts(w3, dep, chain.MarketClient(w3, bound("market", dep.market)), verifier)
