"""The market contract (settlement/contracts/market.vy) on both chains: the embedded one
(eth-tester, py-evm) and anvil (JSON-RPC); conftest.py's ``chain`` fixture runs each test on both.

Each test gets a clean chain with a test verifier and a market deployed (compiled output is
cached, so that costs well under a second). Time is moved with ``settlement.chain.set_next_timestamp``:
after ``at(T)`` the next transaction is mined in a block with timestamp T, so ramp prices and
expiries are exact. Gas of post/lock/fulfill and of the optimistic calls is printed (``-rP`` or
``-s`` shows it); only submit_optimistic + finalize_optimistic is asserted (under 200,000).

Rule on late fulfilment (documented here and in the contract): only the lock holder may fulfil,
and only while its lock lasts (block.timestamp <= lock_expires). After that the lock is dead:
fulfil reverts even with a verified claim; anyone may slash, the request reopens, and the next
prover to lock it and fulfil in time collects the bounty. The same holds for submit_optimistic.
"""

from __future__ import annotations

import random

import pytest
from web3.logs import DISCARD
from settlement.chain import MarketClient, Reverted, deploy, send, set_next_timestamp
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

BOND = 700 * GWEI            # the optimistic bond, of a prover and of a challenger
CHALLENGE_WINDOW = 300
RESPONSE_WINDOW = 200
JOURNAL_BYTES = b"the program's public output: 42\n"  # an optimistic claim carries the journal
OPT_JOURNAL = keccak256(JOURNAL_BYTES)                 # its digest, as in the claim


class Env:
    def __init__(self, w3) -> None:
        self.w3 = w3
        (self.owner, self.client, self.prover, self.prover2, self.anyone,
         self.challenger) = self.w3.eth.accounts[:6]
        self.verifier = deploy(self.w3, "test_verifier", sender=self.owner)
        self.market = MarketClient.deploy(self.w3, self.verifier.address, bond=BOND,
                                          challenge_window=CHALLENGE_WINDOW,
                                          response_window=RESPONSE_WINDOW, sender=self.owner)

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def at(self, timestamp: int) -> None:
        """The next transaction is mined at ``timestamp``."""
        set_next_timestamp(self.w3, timestamp)

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


    def submit(self, rid=RID, sender=None, journal=JOURNAL_BYTES, exit_code=0, cycles=1234):
        return self.market.submit_optimistic(rid, journal=journal, exit_code=exit_code,
                                             cycles=cycles, sender=sender or self.prover)


@pytest.fixture
def env(chain) -> Env:
    e = Env(chain)
    e.market.deposit(10 * ETHER, sender=e.client)
    e.market.deposit(ETHER, sender=e.prover)
    e.market.deposit(ETHER, sender=e.prover2)
    e.market.deposit(ETHER, sender=e.challenger)
    return e


def reverts(reason: str):
    return pytest.raises(Reverted, match=reason)


def events(env: Env, receipt, name: str):
    return getattr(env.market.contract.events, name)().process_receipt(receipt, errors=DISCARD)


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
    for who in (env.client, env.prover, env.prover2, env.challenger):
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
    send(env.w3, attacker.functions.attack(ETHER, b""), env.anyone)
    assert attacker.functions.attempts().call() == 1  # its fallback did try to re-enter
    assert attacker.functions.reentered().call() is False
    assert env.w3.eth.get_balance(attacker.address) == ETHER  # paid once, not twice
    assert env.w3.eth.get_balance(env.market.address) == held - ETHER
    assert env.market.balance_of(attacker.address) == 0


# --- optimistic mode ---------------------------------------------------------------------------

def test_optimistic_claim_unchallenged_is_paid_after_the_window(env, record_property):
    _, req = env.post()
    env.at(req.posted_at + 40)
    env.market.lock(RID, sender=env.prover)
    price = env.market.request(RID).lock_price
    submitted = env.submit()
    (ev,) = events(env, submitted, "OptimisticSubmitted")
    digest = claim_digest(IMAGE, INPUT, OPT_JOURNAL, 0, 1234)
    t = env.w3.eth.get_block(submitted.blockNumber)["timestamp"]
    assert (bytes(ev.args.journal), bytes(ev.args.journal_digest), bytes(ev.args.claim_digest)) \
        == (JOURNAL_BYTES, OPT_JOURNAL, digest)
    assert (ev.args.bond, ev.args.challenge_ends) == (BOND, t + CHALLENGE_WINDOW)
    assert env.market.request(RID).state == "proposed"
    claim = env.market.optimistic_claim(RID)
    assert (claim.claim_digest, claim.window_ends, int(claim.challenger, 16)) == (digest, t + CHALLENGE_WINDOW, 0)
    assert env.market.balance_of(env.prover) == ETHER - STAKE - BOND
    assert (env.market.optimistic_bond, env.market.challenge_window, env.market.response_window) \
        == (BOND, CHALLENGE_WINDOW, RESPONSE_WINDOW)

    env.at(t + CHALLENGE_WINDOW)
    with reverts("challenge window open"):
        env.market.finalize_optimistic(RID, sender=env.anyone)
    env.at(t + CHALLENGE_WINDOW + 1)
    finalized = env.market.finalize_optimistic(RID, sender=env.anyone)  # anyone may
    (ev,) = events(env, finalized, "RequestFulfilled")
    assert (ev.args.prover, bytes(ev.args.claim_digest), ev.args.price) == (env.prover, digest, price)
    assert env.market.request(RID).state == "fulfilled"
    assert env.market.balance_of(env.prover) == ETHER + price
    assert env.market.balance_of(env.client) == 10 * ETHER - price

    gas = submitted.gasUsed + finalized.gasUsed
    record_property("gas_submit_optimistic", submitted.gasUsed)
    record_property("gas_finalize_optimistic", finalized.gasUsed)
    print(f"\ngas: submit_optimistic {submitted.gasUsed} ({len(JOURNAL_BYTES)}-byte journal), "
          f"finalize_optimistic {finalized.gasUsed}, together {gas}")
    assert gas < 200_000

    # nothing pays twice
    with reverts("not proposed"):
        env.market.finalize_optimistic(RID, sender=env.anyone)
    with reverts("not proposed"):
        env.market.challenge(RID, sender=env.challenger)
    with reverts("not challenged"):
        env.market.respond(RID, sender=env.prover)
    env.accept(journal=OPT_JOURNAL)
    with reverts("not locked"):
        env.fulfill(journal=OPT_JOURNAL)
    env.at(req.deadline + 1)
    with reverts("not open"):
        env.market.refund(RID, sender=env.client)
    for who in (env.client, env.prover, env.prover2, env.challenger):
        env.market.withdraw(env.market.balance_of(who), sender=who)
    assert env.w3.eth.get_balance(env.market.address) == 0


def test_challenge_answered_pays_the_prover_both_bonds(env):
    env.post()
    env.market.lock(RID, sender=env.prover)
    price = env.market.request(RID).lock_price
    env.submit()
    with reverts("prover cannot challenge"):
        env.market.challenge(RID, sender=env.prover)
    with reverts("not challenged"):
        env.market.respond(RID, sender=env.prover)
    challenged = env.market.challenge(RID, sender=env.challenger)
    t = env.w3.eth.get_block(challenged.blockNumber)["timestamp"]
    (ev,) = events(env, challenged, "ClaimChallenged")
    assert (ev.args.challenger, ev.args.bond, ev.args.respond_by) == (env.challenger, BOND, t + RESPONSE_WINDOW)
    assert env.market.request(RID).state == "challenged"
    assert env.market.optimistic_claim(RID).challenger == env.challenger
    assert env.market.balance_of(env.challenger) == ETHER - BOND
    with reverts("not proposed"):  # one challenge at a time, and no payout while disputed
        env.market.challenge(RID, sender=env.prover2)
    with reverts("not proposed"):
        env.market.finalize_optimistic(RID, sender=env.anyone)
    with reverts("response window open"):
        env.market.resolve_challenge(RID, sender=env.anyone)

    with reverts("claim not verified"):
        env.market.respond(RID, sender=env.prover)
    env.accept(journal=keccak256(b"another journal"))  # a verified claim, but not the one posted
    with reverts("claim not verified"):
        env.market.respond(RID, sender=env.prover)
    env.accept(journal=OPT_JOURNAL)
    with reverts("not the prover"):
        env.market.respond(RID, sender=env.anyone)
    env.at(t + RESPONSE_WINDOW)  # the last second of the window
    responded = env.market.respond(RID, sender=env.prover)
    (ev,) = events(env, responded, "ChallengeAnswered")
    assert (ev.args.prover, ev.args.challenger, ev.args.to_prover) == (env.prover, env.challenger,
                                                                       price + STAKE + 2 * BOND)
    assert env.market.request(RID).state == "fulfilled"
    assert env.market.balance_of(env.prover) == ETHER + price + BOND
    assert env.market.balance_of(env.challenger) == ETHER - BOND
    assert env.market.balance_of(env.client) == 10 * ETHER - price
    with reverts("not challenged"):
        env.market.respond(RID, sender=env.prover)
    env.at(t + RESPONSE_WINDOW + 1)
    with reverts("not challenged"):
        env.market.resolve_challenge(RID, sender=env.anyone)
    print(f"\ngas: challenge {challenged.gasUsed}, respond {responded.gasUsed}")


def test_challenge_unanswered_reopens_and_the_next_prover_collects_the_bounty(env):
    _, req = env.post()
    env.market.lock(RID, sender=env.prover)
    env.submit(journal=b"a wrong journal")
    challenged = env.market.challenge(RID, sender=env.challenger)
    respond_by = env.market.optimistic_claim(RID).window_ends
    env.accept(journal=OPT_JOURNAL)  # the true claim is verified, but it is not the prover's
    with reverts("claim not verified"):
        env.market.respond(RID, sender=env.prover)
    env.at(respond_by + 1)
    with reverts("response window closed"):
        env.market.respond(RID, sender=env.prover)
    client_before = env.market.balance_of(env.client)
    resolved = env.market.resolve_challenge(RID, sender=env.anyone)  # anyone may
    (ev,) = events(env, resolved, "ChallengeUpheld")
    assert (ev.args.prover, ev.args.challenger, ev.args.to_challenger) == (env.prover, env.challenger, 2 * BOND)
    (ev,) = events(env, resolved, "ProverSlashed")
    to_client, to_bounty = STAKE // 2, STAKE - STAKE // 2
    assert (ev.args.prover, ev.args.to_client, ev.args.to_bounty) == (env.prover, to_client, to_bounty)
    assert env.market.balance_of(env.challenger) == ETHER + BOND
    assert env.market.balance_of(env.prover) == ETHER - STAKE - BOND
    assert env.market.balance_of(env.client) == client_before + to_client
    req = env.market.request(RID)
    assert (req.state, req.bounty, int(req.prover, 16)) == ("open", to_bounty, 0)
    assert env.market.optimistic_claim(RID).claim_digest == bytes(32)
    with reverts("not challenged"):
        env.market.resolve_challenge(RID, sender=env.anyone)

    # reopened: another prover locks (before the deadline) and fulfils, bounty included
    env.market.lock(RID, sender=env.prover2)
    price = env.market.request(RID).lock_price
    fulfilled = env.fulfill(sender=env.prover2, journal=OPT_JOURNAL)
    assert events(env, fulfilled, "RequestFulfilled")[0].args.bounty == to_bounty
    assert env.market.balance_of(env.prover2) == ETHER + price + to_bounty
    assert env.market.balance_of(env.client) == client_before + to_client + PRICE_MAX - price
    assert env.market.request(RID).bounty == 0
    print(f"\ngas: challenge {challenged.gasUsed}, resolve_challenge {resolved.gasUsed}")


def test_a_reopened_request_can_be_claimed_optimistically_again(env):
    env.post()
    env.market.lock(RID, sender=env.prover)
    env.submit(journal=b"a wrong journal")
    env.market.challenge(RID, sender=env.challenger)
    env.at(env.market.optimistic_claim(RID).window_ends + 1)
    env.market.resolve_challenge(RID, sender=env.anyone)
    env.market.lock(RID, sender=env.prover2)
    price = env.market.request(RID).lock_price
    submitted = env.submit(sender=env.prover2)
    ends = env.market.optimistic_claim(RID).window_ends
    assert int(env.market.optimistic_claim(RID).challenger, 16) == 0  # the old challenge is gone
    env.at(ends + 1)
    env.market.finalize_optimistic(RID, sender=env.prover2)
    bounty = STAKE - STAKE // 2
    assert env.market.balance_of(env.prover2) == ETHER + price + bounty
    assert submitted.gasUsed < 120_000


def test_optimistic_calls_at_wrong_times_and_by_wrong_callers(env):
    _, req = env.post()
    with reverts("not locked"):
        env.submit()
    env.market.lock(RID, sender=env.prover)
    with reverts("not the lock holder"):
        env.submit(sender=env.prover2)
    with reverts("too many cycles"):
        env.submit(cycles=MAX_CYCLES + 1)
    for call in ("finalize_optimistic", "challenge"):
        with reverts("not proposed"):
            getattr(env.market, call)(RID, sender=env.challenger)
    for call in ("respond", "resolve_challenge"):
        with reverts("not challenged"):
            getattr(env.market, call)(RID, sender=env.prover)
    expires = env.market.request(RID).lock_expires
    env.at(expires + 1)
    with reverts("lock expired"):
        env.submit()
    env.market.slash(RID, sender=env.anyone)

    # a prover without the bond cannot submit; a challenger without it cannot challenge
    env.market.deposit(STAKE, sender=env.anyone)
    env.market.lock(RID, sender=env.anyone)
    with reverts("balance below bond"):
        env.submit(sender=env.anyone)
    env.market.deposit(BOND, sender=env.anyone)
    env.submit(sender=env.anyone, journal=b"")  # an empty journal is a journal
    owner_balance = env.market.balance_of(env.owner)
    with reverts("balance below bond"):
        env.market.challenge(RID, sender=env.owner)
    assert env.market.balance_of(env.owner) == owner_balance

    # while the claim is pending nothing else applies: no lock, fulfil, slash or refund
    env.accept()
    with reverts("not locked"):
        env.fulfill(sender=env.anyone)
    with reverts("not open"):
        env.market.lock(RID, sender=env.prover2)
    ends = env.market.optimistic_claim(RID).window_ends
    assert ends > req.deadline - DEADLINE_IN + LOCK_TIMEOUT
    env.at(ends + 1)
    with reverts("challenge window closed"):
        env.market.challenge(RID, sender=env.challenger)
    with reverts("not locked"):
        env.market.slash(RID, sender=env.anyone)


def test_deadline_passing_during_a_challenge(env):
    """The deadline bounds the answer, not the dispute: a challenge open at the deadline is
    resolved first; only the reopened request is refunded (with the slashed stake's bounty)."""
    _, req = env.post(deadline=env.now() + 100)
    env.market.lock(RID, sender=env.prover)
    env.submit(journal=b"a wrong journal")
    env.market.challenge(RID, sender=env.challenger)
    respond_by = env.market.optimistic_claim(RID).window_ends
    assert respond_by > req.deadline
    env.at(req.deadline + 1)
    with reverts("not open"):
        env.market.refund(RID, sender=env.client)
    env.at(respond_by + 1)
    env.market.resolve_challenge(RID, sender=env.anyone)
    with reverts("deadline passed"):
        env.market.lock(RID, sender=env.prover2)
    env.market.refund(RID, sender=env.anyone)
    assert env.market.request(RID).state == "refunded"
    assert env.market.balance_of(env.client) == 10 * ETHER + STAKE  # escrow, half stake, bounty
    assert env.market.balance_of(env.challenger) == ETHER + BOND
    assert env.market.balance_of(env.prover) == ETHER - STAKE - BOND


def test_unchallenged_claim_is_finalized_after_the_deadline(env):
    _, req = env.post(deadline=env.now() + 100)
    env.market.lock(RID, sender=env.prover)
    env.submit()
    env.at(req.deadline + 1)
    with reverts("not open"):
        env.market.refund(RID, sender=env.client)
    env.at(env.market.optimistic_claim(RID).window_ends + 1)
    env.market.finalize_optimistic(RID, sender=env.anyone)
    with reverts("not open"):
        env.market.refund(RID, sender=env.client)
    assert env.market.request(RID).state == "fulfilled"


def _encode(env: Env, fn: str, *args) -> bytes:
    return bytes.fromhex(env.market.contract.encode_abi(fn, args=list(args))[2:])


def test_reentrant_recipient_of_optimistic_payouts(env):
    """A contract prover paid through finalize_optimistic, and a contract challenger paid through
    resolve_challenge, re-enter the market while withdrawing: every re-entry fails."""
    rid2 = keccak256(b"request 2")
    rid3 = keccak256(b"request 3")
    attacker = deploy(env.w3, "test_reentrant", env.market.address, sender=env.anyone)
    send(env.w3, attacker.functions.fund(), env.anyone, value=ETHER)

    def act(fn, *args):
        return send(env.w3, attacker.functions.act(_encode(env, fn, *args)), env.anyone)

    # the attacker proves two requests optimistically; both windows pass
    env.post()
    env.post(rid=rid2)
    act("lock", RID)
    act("lock", rid2)
    act("submit_optimistic", RID, JOURNAL_BYTES, 0, 1234)
    act("submit_optimistic", rid2, JOURNAL_BYTES, 0, 1234)
    env.at(env.market.optimistic_claim(rid2).window_ends + 1)
    env.market.finalize_optimistic(RID, sender=env.anyone)
    paid = env.market.balance_of(attacker.address)
    assert paid == ETHER + env.market.request(RID).lock_price - STAKE - BOND

    # withdrawing, it re-enters: finalize of its other claim, then withdraw again
    for reentry in (_encode(env, "finalize_optimistic", rid2), b""):
        amount = env.market.balance_of(attacker.address)
        before = env.w3.eth.get_balance(attacker.address)
        send(env.w3, attacker.functions.attack(amount, reentry), env.anyone)
        assert attacker.functions.reentered().call() is False
        assert env.w3.eth.get_balance(attacker.address) == before + amount
        assert env.market.balance_of(attacker.address) == 0
        if reentry:
            assert env.market.request(rid2).state == "proposed"  # the inner finalize failed
            env.market.finalize_optimistic(rid2, sender=env.anyone)  # outside a payout it works
            assert env.market.request(rid2).state == "fulfilled"
    assert attacker.functions.attempts().call() == 2

    # as a challenger: it wins a challenge and re-enters resolve_challenge on withdrawing
    send(env.w3, attacker.functions.fund(), env.anyone, value=ETHER)
    env.post(rid=rid3)
    env.market.lock(rid3, sender=env.prover)
    env.submit(rid=rid3, journal=b"a wrong journal")
    act("challenge", rid3)
    env.at(env.market.optimistic_claim(rid3).window_ends + 1)
    env.market.resolve_challenge(rid3, sender=env.anyone)
    amount = env.market.balance_of(attacker.address)
    assert amount == ETHER + BOND
    send(env.w3, attacker.functions.attack(amount, _encode(env, "resolve_challenge", rid3)), env.anyone)
    assert attacker.functions.reentered().call() is False
    assert env.market.balance_of(attacker.address) == 0
    assert env.market.request(rid3).state == "open"
    total = sum(env.market.balance_of(a) for a in (env.client, env.prover, env.prover2, env.challenger))
    assert env.w3.eth.get_balance(env.market.address) == total + PRICE_MAX + (STAKE - STAKE // 2)
