"""The market contract (settlement/contracts/market.vy) on the embedded chain (eth-tester, py-evm).

Each test gets a fresh chain with a test verifier and a market deployed (compiled output is
cached, so that costs well under a second). Time is moved with eth-tester's ``time_travel``:
after ``at(T)`` the next transaction is mined in a block with timestamp T, so ramp prices and
expiries are exact. Gas of post/lock/fulfill is printed (``-rP`` or ``-s`` shows it), not asserted.

Rule on late fulfilment (documented here and in the contract): only the lock holder may fulfil,
and only while its lock lasts (block.timestamp <= lock_expires). After that the lock is dead:
fulfil reverts even with a verified claim; anyone may slash, the request reopens, and the next
prover to lock it and fulfil in time collects the bounty.
"""

from __future__ import annotations

import os
import random

import pytest
from settlement.chain import MarketClient, Reverted, connect, deploy, send
from settlement.claim_digest import claim_digest, keccak256

ETHER = 10**18
GWEI = 10**9

IMAGE = keccak256(b"image")
INPUT = keccak256(b"public input")
JOURNAL = keccak256(b"journal")
RID = keccak256(b"request 1")

PRICE_MIN = 1_000 * GWEI
PRICE_MAX = 2_000 * GWEI
RAMP = 100
LOCK_TIMEOUT = 50
DEADLINE_IN = 1_000
STAKE = 501 * GWEI  # odd on purpose: the bounty takes the odd wei
MAX_CYCLES = 1 << 20


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    # one compile per test session, not per test, and nothing written into the work tree
    monkeypatch.setenv("ZKMIPS_VYPER_CACHE", os.environ.get(
        "ZKMIPS_VYPER_CACHE", str(tmp_path_factory.getbasetemp() / "vyper-cache")))
    monkeypatch.delenv("ZKMIPS_CHAIN_RPC_URL", raising=False)


class Env:
    def __init__(self) -> None:
        self.w3 = connect()
        self.owner, self.client, self.prover, self.prover2, self.anyone = self.w3.eth.accounts[:5]
        self.verifier = deploy(self.w3, "test_verifier", sender=self.owner)
        self.market = MarketClient.deploy(self.w3, self.verifier.address, sender=self.owner)
        self.tester = self.w3.provider.ethereum_tester

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def at(self, timestamp: int) -> None:
        """The next transaction is mined at ``timestamp``."""
        self.tester.time_travel(timestamp)

    def accept(self, image=IMAGE, inp=INPUT, journal=JOURNAL, exit_code=0, cycles=1234) -> bytes:
        digest = claim_digest(image, inp, journal, exit_code, cycles)
        send(self.w3, self.verifier.functions.mark_verified(digest), self.owner)
        return digest

    def post(self, rid=RID, **overrides):
        terms = dict(image_id=IMAGE, input_digest=INPUT, max_cycles=MAX_CYCLES, price_min=PRICE_MIN,
                     price_max=PRICE_MAX, ramp_seconds=RAMP, lock_timeout=LOCK_TIMEOUT,
                     deadline=self.now() + DEADLINE_IN, stake=STAKE)
        terms.update(overrides)
        receipt = self.market.post_request(rid, sender=self.client, **terms)
        return receipt, self.market.request(rid)

    def fulfill(self, rid=RID, sender=None, journal=JOURNAL, exit_code=0, cycles=1234):
        return self.market.fulfill(rid, journal_digest=journal, exit_code=exit_code, cycles=cycles,
                                   sender=sender or self.prover)


@pytest.fixture
def env() -> Env:
    e = Env()
    e.market.deposit(10 * ETHER, sender=e.client)
    e.market.deposit(ETHER, sender=e.prover)
    e.market.deposit(ETHER, sender=e.prover2)
    return e


def reverts(reason: str):
    return pytest.raises(Reverted, match=reason)


def events(env: Env, receipt, name: str):
    return getattr(env.market.contract.events, name)().process_receipt(receipt)


def test_claim_digest_python_matches_contract(env):
    rng = random.Random(7)
    cases = [(bytes(32), bytes(32), bytes(32), 0, 0),
             (b"\xff" * 32, b"\xff" * 32, b"\xff" * 32, 2**32 - 1, 2**64 - 1)]
    cases += [(rng.randbytes(32), rng.randbytes(32), rng.randbytes(32), rng.getrandbits(32),
               rng.getrandbits(64)) for _ in range(8)]
    for case in cases:
        assert env.market.claim_digest(*case) == claim_digest(*case)
    with pytest.raises(ValueError):
        claim_digest(IMAGE, INPUT, JOURNAL, 2**32, 0)


def test_happy_path_pays_lock_price_refunds_rest_returns_stake(env):
    posted, req = env.post()
    assert req.state == "open" and env.market.balance_of(env.client) == 10 * ETHER - PRICE_MAX
    assert events(env, posted, "RequestPosted")[0].args.price_max == PRICE_MAX

    env.at(req.posted_at + 40)
    locked = env.market.lock(RID, sender=env.prover)
    price = PRICE_MIN + (PRICE_MAX - PRICE_MIN) * 40 // RAMP
    req = env.market.request(RID)
    assert (req.state, req.prover, req.lock_price) == ("locked", env.prover, price)
    assert req.lock_expires == req.posted_at + 40 + LOCK_TIMEOUT
    assert env.market.balance_of(env.prover) == ETHER - STAKE

    digest = env.accept()
    fulfilled = env.fulfill()
    (ev,) = events(env, fulfilled, "RequestFulfilled")
    assert (bytes(ev.args.claim_digest), ev.args.price, ev.args.bounty) == (digest, price, 0)
    assert env.market.request(RID).state == "fulfilled"
    assert env.market.balance_of(env.prover) == ETHER + price
    assert env.market.balance_of(env.client) == 10 * ETHER - price

    # the ledger is backed by real ether: everyone withdraws everything, the contract ends empty
    for who in (env.client, env.prover, env.prover2):
        before = env.w3.eth.get_balance(who)
        amount = env.market.balance_of(who)
        receipt = env.market.withdraw(amount, sender=who)
        fee = receipt.gasUsed * receipt.effectiveGasPrice
        assert env.w3.eth.get_balance(who) == before + amount - fee
    assert env.w3.eth.get_balance(env.market.address) == 0
    print(f"\ngas: post_request {posted.gasUsed}, lock {locked.gasUsed}, fulfill {fulfilled.gasUsed}")


def test_ramp_price_before_during_after(env):
    _, req = env.post()
    assert env.market.current_price(RID) == PRICE_MIN
    env.at(req.posted_at + RAMP + 5)
    env.market.deposit(1, sender=env.anyone)  # mine a block at that time
    assert env.market.current_price(RID) == PRICE_MAX


def test_unverified_claim_reverts(env):
    env.post()
    env.market.lock(RID, sender=env.prover)
    with reverts("claim not verified"):
        env.fulfill()
    env.accept(cycles=1234)
    with reverts("claim not verified"):  # accepted claim, but another journal
        env.fulfill(journal=keccak256(b"other journal"))


def test_claim_for_another_request_reverts(env):
    env.post()
    env.market.lock(RID, sender=env.prover)
    env.accept(image=keccak256(b"other image"))
    env.accept(inp=keccak256(b"other input"))
    with reverts("claim not verified"):
        env.fulfill()
    env.accept(cycles=MAX_CYCLES + 1)
    with reverts("too many cycles"):
        env.fulfill(cycles=MAX_CYCLES + 1)
    env.accept()
    with reverts("not the lock holder"):
        env.fulfill(sender=env.prover2)
    env.fulfill()


def test_replayed_fulfilment_and_other_payouts_after_it_revert(env):
    _, req = env.post()
    env.market.lock(RID, sender=env.prover)
    env.accept()
    env.fulfill()
    balances = [env.market.balance_of(a) for a in (env.client, env.prover)]
    with reverts("not locked"):
        env.fulfill()
    env.at(req.deadline + 1)
    with reverts("not locked"):
        env.market.slash(RID, sender=env.anyone)
    with reverts("not open"):
        env.market.refund(RID, sender=env.client)
    with reverts("not open"):
        env.market.lock(RID, sender=env.prover2)
    assert [env.market.balance_of(a) for a in (env.client, env.prover)] == balances


def test_fulfilment_after_lock_expiry_reverts(env):
    env.post()
    locked = env.market.lock(RID, sender=env.prover)
    expires = env.market.request(RID).lock_expires
    env.accept()
    env.at(expires + 1)
    with reverts("lock expired"):
        env.fulfill()
    (ev,) = events(env, locked, "RequestLocked")
    assert (ev.args.prover, ev.args.lock_expires) == (env.prover, expires)
    assert env.market.request(RID).state == "locked"  # still there, for anyone to slash
    assert env.market.balance_of(env.prover) == ETHER - STAKE


def test_lock_expiry_slashes_half_to_client_half_to_next_fulfiller(env):
    _, req = env.post()
    env.market.lock(RID, sender=env.prover)
    expires = env.market.request(RID).lock_expires
    env.at(expires)
    with reverts("lock not expired"):
        env.market.slash(RID, sender=env.anyone)
    env.at(expires + 1)
    client_before = env.market.balance_of(env.client)
    slashed = env.market.slash(RID, sender=env.anyone)
    (ev,) = events(env, slashed, "ProverSlashed")
    to_client, to_bounty = STAKE // 2, STAKE - STAKE // 2
    assert (ev.args.prover, ev.args.to_client, ev.args.to_bounty) == (env.prover, to_client, to_bounty)
    assert env.market.balance_of(env.client) == client_before + to_client
    assert env.market.balance_of(env.prover) == ETHER - STAKE
    req = env.market.request(RID)
    assert (req.state, req.bounty, req.prover) == ("open", to_bounty, "0x" + "00" * 20)
    with reverts("not locked"):
        env.market.slash(RID, sender=env.anyone)

    # the next prover locks (here at the full ramp price) and collects the bounty with its pay
    env.at(req.posted_at + RAMP)
    env.market.lock(RID, sender=env.prover2)
    price = env.market.request(RID).lock_price
    assert price == PRICE_MAX
    env.accept()
    fulfilled = env.fulfill(sender=env.prover2)
    assert events(env, fulfilled, "RequestFulfilled")[0].args.bounty == to_bounty
    assert env.market.balance_of(env.prover2) == ETHER + price + to_bounty
    assert env.market.balance_of(env.client) == client_before + to_client + PRICE_MAX - price
    assert env.market.request(RID).bounty == 0


def test_refund_after_deadline(env):
    _, req = env.post(deadline=env.now() + 200)
    with reverts("deadline not reached"):
        env.market.refund(RID, sender=env.client)
    env.at(req.deadline)
    with reverts("deadline passed"):
        env.market.lock(RID, sender=env.prover)
    refunded = env.market.refund(RID, sender=env.anyone)  # anyone may; only the client gains
    assert events(env, refunded, "RequestRefunded")[0].args.amount == PRICE_MAX
    assert env.market.balance_of(env.client) == 10 * ETHER
    assert env.market.request(RID).state == "refunded"
    with reverts("not open"):
        env.market.refund(RID, sender=env.client)


def test_refund_with_an_expired_lock_slashes_it_and_returns_the_bounty(env):
    _, req = env.post(deadline=env.now() + 30)  # the lock is cut at the deadline
    env.market.lock(RID, sender=env.prover)
    assert env.market.request(RID).lock_expires == req.deadline
    env.at(req.deadline)
    with reverts("lock still live"):
        env.market.refund(RID, sender=env.client)
    env.accept()
    env.at(req.deadline + 1)
    with reverts("lock expired"):
        env.fulfill()
    env.market.refund(RID, sender=env.client)
    assert env.market.balance_of(env.client) == 10 * ETHER + STAKE  # escrow, half stake, bounty
    assert env.market.balance_of(env.prover) == ETHER - STAKE


def test_posting_checks(env):
    with reverts("balance below price_max"):
        env.post(price_max=11 * ETHER, price_min=1)
    with reverts("price_min above price_max"):
        env.post(price_min=PRICE_MAX + 1)
    env.post()
    with reverts("request id taken"):
        env.post()
    with reverts("collateral below stake"):
        env.market.lock(RID, sender=env.anyone)
    with reverts("only the owner"):
        send(env.w3, env.verifier.functions.mark_verified(bytes(32)), env.prover)
    with reverts("balance too low"):
        env.market.withdraw(ETHER + 1, sender=env.prover)


def test_reentrant_withdrawal_fails(env):
    attacker = deploy(env.w3, "test_reentrant", env.market.address, sender=env.anyone)
    send(env.w3, attacker.functions.fund(), env.anyone, value=ETHER)
    held = env.w3.eth.get_balance(env.market.address)
    send(env.w3, attacker.functions.attack(ETHER), env.anyone)
    assert attacker.functions.attempts().call() == 1  # its fallback did try to re-enter
    assert attacker.functions.reentered().call() is False
    assert env.w3.eth.get_balance(attacker.address) == ETHER  # paid once, not twice
    assert env.w3.eth.get_balance(env.market.address) == held - ETHER
    assert env.market.balance_of(attacker.address) == 0
