"""An operator's side of the chain modes: lock on chain, settle there, answer challenges.

The worker learns the contracts from the offer (``offer["chain"]``: chain id, market and
verifier addresses, preset, credit rate, request id) and checks them against the node it is
configured with; it sends from its own address (a node-managed account: anvil's, or a real
node's unlocked one). What it does per mode:

* ``onchain``: lock (stake from its market balance, topped up by a deposit), prove at the
  deployment's preset, verify the receipt on chain step by step (it pays that gas), then
  ``fulfill`` (paid by the contract).
* ``optimistic``: lock, prove, post the journal with the bond (``submit_optimistic``); the
  claim is remembered so that a challenge is answered by verifying the receipt on chain and
  calling ``respond`` before the response window closes (:meth:`answer_challenges`).

Every transaction is listed (hash and what it did) so that the marketplace can read it back
from the chain and show its gas; the marketplace pays nothing on that list's word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from web3 import Web3

from prover.keccak import keccak256
from prover.security import PRESETS
from settlement import chain, onchain_verifier
from settlement.deployment import Contracts, Deployment, attach, code_version

log = logging.getLogger("zkmips.worker")


@dataclass
class ChainTxs:
    """The transactions sent for one job, as the API's upload takes them."""
    items: list[dict] = field(default_factory=list)

    def add(self, what: str, tx_hash) -> None:
        h = tx_hash.hex() if isinstance(tx_hash, (bytes, bytearray)) else str(tx_hash)
        self.items.append({"hash": h if h.startswith("0x") else "0x" + h, "what": what})


@dataclass
class PendingClaim:
    """An optimistic claim this worker posted and must defend if challenged."""
    job_id: str
    request_id: bytes
    receipt: bytes
    contracts: Contracts


class ChainProver:
    """One operator address on one node."""

    def __init__(self, url: str, address: str | None = None, *, wait: float = 60.0):
        self.url = url
        if not chain.wait_for_node(url, wait):       # started beside its node (make run): wait for it
            raise ConnectionError(f"no chain answers at {url} after {wait:.0f} s")
        self.w3 = chain.connect(url)
        self.address = Web3.to_checksum_address(address) if address else self._default_address()
        self._contracts: dict[str, Contracts] = {}
        self.pending: dict[str, PendingClaim] = {}

    def _default_address(self) -> str:
        """The node's second account: the first is the marketplace's on a shared dev node."""
        accounts = self.w3.eth.accounts
        if not accounts:
            raise chain.Reverted(f"the node at {self.url} manages no account: name one with --chain-account")
        return accounts[1] if len(accounts) > 1 else accounts[0]

    def contracts(self, offer_chain: dict) -> Contracts:
        dep = Deployment.from_dict(offer_chain)
        if dep.market not in self._contracts:
            self._contracts[dep.market] = attach(self.w3, dep)
        return self._contracts[dep.market]

    def why_not(self, offer: dict) -> str | None:
        """Why this worker cannot take a chain-settled offer (None when it can)."""
        info = offer.get("chain")
        if not info:
            return "the marketplace did not say which chain settles it"
        if info.get("chain_id") != self.w3.eth.chain_id:
            return f"settled on chain {info.get('chain_id')}, this worker's node is chain {self.w3.eth.chain_id}"
        preset = info.get("preset")
        if preset not in PRESETS:
            return f"its receipts are to be proven at FRI preset {preset!r}, which this worker does not know"
        if info.get("code_version") != code_version(preset):
            return (f"its contracts are version {info.get('code_version') or 'unknown'}, this worker speaks to "
                    f"version {code_version(preset)}: update the worker")
        return None

    def _top_up(self, c: Contracts, amount: int, txs: ChainTxs, what: str) -> None:
        have = c.market.balance_of(self.address)
        if have < amount:
            txs.add(what, c.market.deposit(amount - have, sender=self.address)["transactionHash"])

    def lock(self, offer: dict, txs: ChainTxs) -> None:
        """Lock the offer's request on chain, depositing the stake when the balance is short."""
        c = self.contracts(offer["chain"])
        rid = bytes.fromhex(offer["chain"]["request_id"])
        self._top_up(c, c.market.request(rid).stake, txs, "deposit for the stake")
        txs.add("lock", c.market.lock(rid, sender=self.address)["transactionHash"])

    def verify(self, c: Contracts, receipt: bytes, txs: ChainTxs, progress=None) -> None:
        """Have the verifier contract check the receipt (every step is a transaction)."""
        result = onchain_verifier.verify_receipt(c.verifier, receipt, sender=self.address, progress=progress)
        for step in result.steps:
            txs.add(f"verify: {step.what}", step.tx)

    def settle(self, offer: dict, receipt: bytes, txs: ChainTxs, progress=None) -> None:
        """Settle a proven job on chain in its mode (raises chain.Reverted when refused)."""
        from prover.zkmips import segment_receipt as SR
        c = self.contracts(offer["chain"])
        rid = bytes.fromhex(offer["chain"]["request_id"])
        claim = SR.decode(receipt).claim
        if offer["settlement"] == "onchain":
            self.verify(c, receipt, txs, progress)
            r = c.market.fulfill(rid, journal_digest=keccak256(claim.journal), exit_code=claim.exit_code,
                                 cycles=claim.cycles, sender=self.address)
            txs.add("fulfill", r["transactionHash"])
        elif offer["settlement"] == "optimistic":
            self._top_up(c, c.market.optimistic_bond, txs, "deposit for the bond")
            r = c.market.submit_optimistic(rid, journal=claim.journal, exit_code=claim.exit_code,
                                           cycles=claim.cycles, sender=self.address)
            txs.add("post journal (optimistic)", r["transactionHash"])
            self.pending[offer["job_id"]] = PendingClaim(offer["job_id"], rid, receipt, c)
        else:
            raise ValueError(f"job {offer['job_id']} is not settled on chain")

    def answer_challenges(self) -> list[tuple[str, ChainTxs]]:
        """Answer every challenged claim of ours with an on-chain proof; forget settled ones.
        Returns (job id, transactions) per answered challenge."""
        answered = []
        for job_id, p in list(self.pending.items()):
            state = p.contracts.market.request(p.request_id).state
            if state != "challenged":
                if state != "proposed":
                    del self.pending[job_id]
                continue
            txs = ChainTxs()
            try:
                self.verify(p.contracts, p.receipt, txs)
                txs.add("respond to challenge",
                        p.contracts.market.respond(p.request_id, sender=self.address)["transactionHash"])
            except chain.Reverted as e:
                log.warning("challenge of job %s not answered: %s", job_id, e)
            del self.pending[job_id]
            answered.append((job_id, txs))
        return answered
