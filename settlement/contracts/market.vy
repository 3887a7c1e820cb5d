# pragma version ~=0.4.3
"""
@title zkMIPS market escrow
@notice The on-chain mirror of the marketplace's ledger (docs/marketplace.md): clients escrow
        price_max per request, provers lock requests with a stake at the reverse-Dutch-auction
        price of that moment, and money moves to the prover only for a claim that the verifier
        at VERIFIER has accepted and that names the request's program, input and cycle limit.
        Optimistic mode (ZKM's Hybrid Rollup idea): instead of a verified claim, the lock holder
        may post the journal and a bond (submit_optimistic); after CHALLENGE_WINDOW unchallenged
        it is paid (finalize_optimistic). A challenger who posts the same bond forces the claim
        on-chain: the prover has RESPONSE_WINDOW to have it verified (respond) and takes both
        bonds, or loses its bond to the challenger, its stake as on a lock expiry, and the job
        (resolve_challenge; the request reopens).
@dev    Every payout is a credit to `balances` (pull payments); ether leaves only through
        `withdraw`, after the balance is debited (checks-effects-interactions) and under a
        reentrancy lock. States and moves (docs/onchain-market.md has the table):
          OPEN -> LOCKED (lock) -> FULFILLED (fulfill)
          LOCKED -> OPEN (slash, after the lock expired)
          LOCKED -> PROPOSED (submit_optimistic) -> FULFILLED (finalize_optimistic)
          PROPOSED -> CHALLENGED (challenge) -> FULFILLED (respond) | OPEN (resolve_challenge)
          OPEN -> REFUNDED (refund, after the deadline)
        FULFILLED and REFUNDED are terminal and every payout leaves its state at once, so no
        path pays twice; refund, slash, lock and fulfill all refuse PROPOSED and CHALLENGED.
        The deadline bounds answers (lock, fulfill, submit_optimistic happen while the lock
        lasts, and a lock never outlives the deadline), not settlement: a claim submitted in
        time is finalized, answered or resolved after the deadline as before it, and a request
        reopened by resolve_challenge after its deadline can only be refunded.
"""

interface IVerifier:
    def verified(claim_digest: bytes32) -> bool: view

# request states (0 = no such request)
OPEN: constant(uint8) = 1
LOCKED: constant(uint8) = 2
FULFILLED: constant(uint8) = 3
REFUNDED: constant(uint8) = 4
PROPOSED: constant(uint8) = 5    # an optimistic claim waits out its challenge window
CHALLENGED: constant(uint8) = 6  # a challenged claim waits for the prover's verified answer

# the longest journal an optimistic claim carries (as the verifier's MAX_IO)
MAX_JOURNAL: constant(uint256) = 8192

struct Request:
    client: address
    image_id: bytes32
    input_digest: bytes32
    max_cycles: uint64
    price_min: uint256
    price_max: uint256
    posted_at: uint256
    ramp_seconds: uint256
    lock_timeout: uint256
    deadline: uint256
    stake: uint256
    state: uint8
    prover: address
    lock_price: uint256
    lock_expires: uint256
    bounty: uint256

# An optimistic claim: its digest (rebuilt from the request's terms when submitted) and the
# challenger (empty until challenged). When the current window ends is the request's
# `lock_expires`: the lock's end while LOCKED, the challenge window's while PROPOSED, the
# response window's while CHALLENGED. Reusing that slot (non-zero while locked) keeps the cheap
# path to one fresh slot: submit_optimistic writes the digest, finalize_optimistic nothing new.
struct OptimisticClaim:
    claim_digest: bytes32
    challenger: address

event Deposited:
    account: indexed(address)
    amount: uint256

event Withdrawn:
    account: indexed(address)
    amount: uint256

event RequestPosted:
    request_id: indexed(bytes32)
    client: indexed(address)
    image_id: bytes32
    input_digest: bytes32
    max_cycles: uint64
    price_min: uint256
    price_max: uint256
    deadline: uint256
    stake: uint256

event RequestLocked:
    request_id: indexed(bytes32)
    prover: indexed(address)
    price: uint256
    lock_expires: uint256

event RequestFulfilled:
    request_id: indexed(bytes32)
    prover: indexed(address)
    claim_digest: bytes32
    price: uint256
    bounty: uint256

event ProverSlashed:
    request_id: indexed(bytes32)
    prover: indexed(address)
    to_client: uint256
    to_bounty: uint256

event RequestRefunded:
    request_id: indexed(bytes32)
    client: indexed(address)
    amount: uint256

event OptimisticSubmitted:
    request_id: indexed(bytes32)
    prover: indexed(address)
    claim_digest: bytes32
    journal_digest: bytes32
    exit_code: uint32
    cycles: uint64
    bond: uint256
    challenge_ends: uint256
    journal: Bytes[MAX_JOURNAL]

event ClaimChallenged:
    request_id: indexed(bytes32)
    challenger: indexed(address)
    bond: uint256
    respond_by: uint256

event ChallengeAnswered:
    request_id: indexed(bytes32)
    prover: indexed(address)
    challenger: indexed(address)
    to_prover: uint256

event ChallengeUpheld:
    request_id: indexed(bytes32)
    prover: indexed(address)
    challenger: indexed(address)
    to_challenger: uint256

VERIFIER: public(immutable(IVerifier))
OPTIMISTIC_BOND: public(immutable(uint256))   # wei, posted by the prover and by a challenger
CHALLENGE_WINDOW: public(immutable(uint256))  # seconds after submit_optimistic to challenge
RESPONSE_WINDOW: public(immutable(uint256))   # seconds after a challenge for the verified answer
balances: public(HashMap[address, uint256])
requests: public(HashMap[bytes32, Request])
optimistic_claims: public(HashMap[bytes32, OptimisticClaim])


@deploy
def __init__(verifier: IVerifier, optimistic_bond: uint256, challenge_window: uint256,
             response_window: uint256):
    assert optimistic_bond > 0, "bond is zero"  # else challenges would be free
    assert challenge_window > 0 and response_window > 0, "window is zero"
    VERIFIER = verifier
    OPTIMISTIC_BOND = optimistic_bond
    CHALLENGE_WINDOW = challenge_window
    RESPONSE_WINDOW = response_window


@internal
@pure
def _claim_digest(image_id: bytes32, input_digest: bytes32, journal_digest: bytes32,
                  exit_code: uint32, cycles: uint64) -> bytes32:
    # The one definition of a claim's digest; settlement/claim_digest.py mirrors it.
    return keccak256(abi_encode(image_id, input_digest, journal_digest, exit_code, cycles))


@external
@pure
def claim_digest(image_id: bytes32, input_digest: bytes32, journal_digest: bytes32,
                 exit_code: uint32, cycles: uint64) -> bytes32:
    """@notice The digest a verifier marks as accepted for this claim."""
    return self._claim_digest(image_id, input_digest, journal_digest, exit_code, cycles)


@internal
@view
def _price_at(r: Request, t: uint256) -> uint256:
    # Reverse Dutch auction: linear from price_min at posting to price_max after the ramp.
    elapsed: uint256 = t - r.posted_at
    if elapsed >= r.ramp_seconds:
        return r.price_max
    return r.price_min + (r.price_max - r.price_min) * elapsed // r.ramp_seconds


@external
@view
def current_price(request_id: bytes32) -> uint256:
    """@notice What a lock would pay now (the auction's price at this block)."""
    r: Request = self.requests[request_id]
    assert r.state != 0, "no such request"
    return self._price_at(r, block.timestamp)


@external
@payable
def deposit():
    """@notice Credit msg.value to the sender: a client's funds or a prover's collateral."""
    assert msg.value > 0, "nothing to deposit"
    self.balances[msg.sender] += msg.value
    log Deposited(account=msg.sender, amount=msg.value)


@external
@nonreentrant
def withdraw(amount: uint256):
    """@notice Send `amount` of the sender's free balance to it (debit first, then send)."""
    assert amount > 0, "nothing to withdraw"
    assert self.balances[msg.sender] >= amount, "balance too low"
    self.balances[msg.sender] -= amount
    log Withdrawn(account=msg.sender, amount=amount)
    # all gas forwarded so contract wallets work; the debit above and the lock make reentry harmless
    raw_call(msg.sender, b"", value=amount)


@external
def post_request(request_id: bytes32, image_id: bytes32, input_digest: bytes32,
                 max_cycles: uint64, price_min: uint256, price_max: uint256,
                 ramp_seconds: uint256, lock_timeout: uint256, deadline: uint256,
                 stake: uint256):
    """@notice Offer a job and escrow price_max from the sender's balance."""
    assert self.requests[request_id].state == 0, "request id taken"
    assert price_min <= price_max, "price_min above price_max"
    assert deadline > block.timestamp, "deadline passed"
    assert lock_timeout > 0, "lock_timeout is zero"
    assert max_cycles > 0, "max_cycles is zero"
    assert self.balances[msg.sender] >= price_max, "balance below price_max"
    self.balances[msg.sender] -= price_max
    self.requests[request_id] = Request(
        client=msg.sender, image_id=image_id, input_digest=input_digest,
        max_cycles=max_cycles, price_min=price_min, price_max=price_max,
        posted_at=block.timestamp, ramp_seconds=ramp_seconds, lock_timeout=lock_timeout,
        deadline=deadline, stake=stake, state=OPEN, prover=empty(address),
        lock_price=0, lock_expires=0, bounty=0)
    log RequestPosted(request_id=request_id, client=msg.sender, image_id=image_id,
                      input_digest=input_digest, max_cycles=max_cycles, price_min=price_min,
                      price_max=price_max, deadline=deadline, stake=stake)


@external
def lock(request_id: bytes32):
    """@notice Take an open request at the current price, locking its stake from the sender."""
    r: Request = self.requests[request_id]
    assert r.state == OPEN, "not open"
    assert block.timestamp < r.deadline, "deadline passed"
    assert self.balances[msg.sender] >= r.stake, "collateral below stake"
    self.balances[msg.sender] -= r.stake
    price: uint256 = self._price_at(r, block.timestamp)
    expires: uint256 = min(block.timestamp + r.lock_timeout, r.deadline)
    self.requests[request_id].state = LOCKED
    self.requests[request_id].prover = msg.sender
    self.requests[request_id].lock_price = price
    self.requests[request_id].lock_expires = expires
    log RequestLocked(request_id=request_id, prover=msg.sender, price=price, lock_expires=expires)


@external
def fulfill(request_id: bytes32, journal_digest: bytes32, exit_code: uint32, cycles: uint64):
    """
    @notice Settle a locked request for its prover, while the lock lasts, with a claim the
            verifier accepted. Pays the lock price, the stake and any bounty to the prover and
            the rest of the escrow back to the client.
    """
    r: Request = self.requests[request_id]
    assert r.state == LOCKED, "not locked"
    assert msg.sender == r.prover, "not the lock holder"
    assert block.timestamp <= r.lock_expires, "lock expired"
    assert cycles <= r.max_cycles, "too many cycles"
    # the claim is rebuilt from the request's own terms: a claim about another program or
    # input has another digest, which the verifier has not accepted for this request
    digest: bytes32 = self._claim_digest(r.image_id, r.input_digest, journal_digest, exit_code, cycles)
    assert staticcall VERIFIER.verified(digest), "claim not verified"
    self.requests[request_id].state = FULFILLED
    self.requests[request_id].bounty = 0
    self.balances[r.prover] += r.lock_price + r.stake + r.bounty
    self.balances[r.client] += r.price_max - r.lock_price
    log RequestFulfilled(request_id=request_id, prover=r.prover, claim_digest=digest,
                         price=r.lock_price, bounty=r.bounty)


@internal
def _slash(request_id: bytes32, r: Request):
    # Half of the stake to the client, half kept as a bounty for whoever fulfils it later.
    to_client: uint256 = r.stake // 2
    to_bounty: uint256 = r.stake - to_client
    self.balances[r.client] += to_client
    self.requests[request_id].bounty = r.bounty + to_bounty
    self.requests[request_id].state = OPEN
    self.requests[request_id].prover = empty(address)
    self.requests[request_id].lock_price = 0
    self.requests[request_id].lock_expires = 0
    log ProverSlashed(request_id=request_id, prover=r.prover, to_client=to_client,
                      to_bounty=to_bounty)


@external
def slash(request_id: bytes32):
    """@notice Anyone may slash a lock that expired unfulfilled; the request reopens."""
    r: Request = self.requests[request_id]
    assert r.state == LOCKED, "not locked"
    assert block.timestamp > r.lock_expires, "lock not expired"
    self._slash(request_id, r)


@external
def refund(request_id: bytes32):
    """
    @notice After the deadline, return an unfulfilled request's escrow and bounty to its
            client (slashing an expired lock first). Anyone may call it; only the client gains.
    """
    r: Request = self.requests[request_id]
    assert block.timestamp >= r.deadline, "deadline not reached"
    if r.state == LOCKED:
        assert block.timestamp > r.lock_expires, "lock still live"
        self._slash(request_id, r)
        r = self.requests[request_id]
    assert r.state == OPEN, "not open"
    amount: uint256 = r.price_max + r.bounty
    self.requests[request_id].state = REFUNDED
    self.requests[request_id].bounty = 0
    self.balances[r.client] += amount
    log RequestRefunded(request_id=request_id, client=r.client, amount=amount)


# --- optimistic mode ---------------------------------------------------------------------------
# Reads and writes single fields, not whole structs: submit_optimistic + finalize_optimistic
# stay well under 200,000 gas together (docs/onchain-market.md has the measured figures).

@external
@nonreentrant
def submit_optimistic(request_id: bytes32, journal: Bytes[MAX_JOURNAL], exit_code: uint32,
                      cycles: uint64):
    """
    @notice The lock holder claims, while its lock lasts, that the request's program on its input
            gives `journal` (emitted, not stored), `exit_code` and `cycles`, posting
            OPTIMISTIC_BOND from its balance. Paid by finalize_optimistic after CHALLENGE_WINDOW
            unless challenged.
    """
    assert self.requests[request_id].state == LOCKED, "not locked"
    assert msg.sender == self.requests[request_id].prover, "not the lock holder"
    assert block.timestamp <= self.requests[request_id].lock_expires, "lock expired"
    assert cycles <= self.requests[request_id].max_cycles, "too many cycles"
    assert self.balances[msg.sender] >= OPTIMISTIC_BOND, "balance below bond"
    self.balances[msg.sender] -= OPTIMISTIC_BOND
    journal_digest: bytes32 = keccak256(journal)
    digest: bytes32 = self._claim_digest(self.requests[request_id].image_id,
                                         self.requests[request_id].input_digest,
                                         journal_digest, exit_code, cycles)
    ends: uint256 = block.timestamp + CHALLENGE_WINDOW
    self.requests[request_id].state = PROPOSED
    self.requests[request_id].lock_expires = ends
    self.optimistic_claims[request_id].claim_digest = digest  # challenger: empty since resolved/new
    log OptimisticSubmitted(request_id=request_id, prover=msg.sender, claim_digest=digest,
                            journal_digest=journal_digest, exit_code=exit_code, cycles=cycles,
                            bond=OPTIMISTIC_BOND, challenge_ends=ends, journal=journal)


@internal
def _pay_prover(request_id: bytes32, extra: uint256) -> (address, uint256, uint256):
    # FULFILLED, then credits: the prover gets lock price + stake + bounty + `extra` (its bond,
    # and the challenger's when it answered a challenge), the client the rest of its escrow.
    prover: address = self.requests[request_id].prover
    price: uint256 = self.requests[request_id].lock_price
    bounty: uint256 = self.requests[request_id].bounty
    self.requests[request_id].state = FULFILLED
    if bounty != 0:
        self.requests[request_id].bounty = 0
    to_prover: uint256 = price + self.requests[request_id].stake + bounty + extra
    self.balances[prover] += to_prover
    self.balances[self.requests[request_id].client] += self.requests[request_id].price_max - price
    log RequestFulfilled(request_id=request_id, prover=prover,
                         claim_digest=self.optimistic_claims[request_id].claim_digest,
                         price=price, bounty=bounty)
    return prover, to_prover, bounty


@external
@nonreentrant
def finalize_optimistic(request_id: bytes32):
    """@notice Anyone, once an unchallenged claim's window has passed: pay its prover."""
    assert self.requests[request_id].state == PROPOSED, "not proposed"
    assert block.timestamp > self.requests[request_id].lock_expires, "challenge window open"
    self._pay_prover(request_id, OPTIMISTIC_BOND)


@external
@nonreentrant
def challenge(request_id: bytes32):
    """
    @notice Anyone but the prover, within the challenge window: dispute the claim, posting
            OPTIMISTIC_BOND. The prover then has RESPONSE_WINDOW to have the claim verified.
    """
    assert self.requests[request_id].state == PROPOSED, "not proposed"
    assert block.timestamp <= self.requests[request_id].lock_expires, "challenge window closed"
    assert msg.sender != self.requests[request_id].prover, "prover cannot challenge"
    assert self.balances[msg.sender] >= OPTIMISTIC_BOND, "balance below bond"
    self.balances[msg.sender] -= OPTIMISTIC_BOND
    respond_by: uint256 = block.timestamp + RESPONSE_WINDOW
    self.requests[request_id].state = CHALLENGED
    self.optimistic_claims[request_id].challenger = msg.sender
    self.requests[request_id].lock_expires = respond_by
    log ClaimChallenged(request_id=request_id, challenger=msg.sender, bond=OPTIMISTIC_BOND,
                        respond_by=respond_by)


@external
@nonreentrant
def respond(request_id: bytes32):
    """
    @notice The prover, within the response window, once the verifier has accepted the claim it
            submitted: it is paid as on fulfilment plus both bonds.
    """
    assert self.requests[request_id].state == CHALLENGED, "not challenged"
    assert msg.sender == self.requests[request_id].prover, "not the prover"
    assert block.timestamp <= self.requests[request_id].lock_expires, "response window closed"
    c: OptimisticClaim = self.optimistic_claims[request_id]
    assert staticcall VERIFIER.verified(c.claim_digest), "claim not verified"
    prover: address = empty(address)
    to_prover: uint256 = 0
    bounty: uint256 = 0
    prover, to_prover, bounty = self._pay_prover(request_id, 2 * OPTIMISTIC_BOND)
    log ChallengeAnswered(request_id=request_id, prover=prover, challenger=c.challenger,
                          to_prover=to_prover)


@external
@nonreentrant
def resolve_challenge(request_id: bytes32):
    """
    @notice Anyone, after an unanswered challenge's response window: the challenger gets both
            bonds, the prover's stake is slashed as on a lock expiry and the request reopens.
    """
    r: Request = self.requests[request_id]
    assert r.state == CHALLENGED, "not challenged"
    assert block.timestamp > r.lock_expires, "response window open"
    c: OptimisticClaim = self.optimistic_claims[request_id]
    self.balances[c.challenger] += 2 * OPTIMISTIC_BOND
    self.optimistic_claims[request_id] = empty(OptimisticClaim)
    log ChallengeUpheld(request_id=request_id, prover=r.prover, challenger=c.challenger,
                        to_challenger=2 * OPTIMISTIC_BOND)
    self._slash(request_id, r)
