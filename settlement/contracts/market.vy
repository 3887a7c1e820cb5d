# pragma version ~=0.4.3
"""
@title zkMIPS market escrow
@notice The on-chain mirror of the marketplace's ledger (docs/marketplace.md): clients escrow
        price_max per request, provers lock requests with a stake at the reverse-Dutch-auction
        price of that moment, and money moves to the prover only for a claim that the verifier
        at VERIFIER has accepted and that names the request's program, input and cycle limit.
@dev    Every payout is a credit to `balances` (pull payments); ether leaves only through
        `withdraw`, after the balance is debited (checks-effects-interactions) and under a
        reentrancy lock. A request moves OPEN -> LOCKED -> FULFILLED, LOCKED -> OPEN (slash),
        OPEN -> REFUNDED after its deadline; FULFILLED and REFUNDED are terminal, so no path
        pays twice.
"""

interface IVerifier:
    def verified(claim_digest: bytes32) -> bool: view

# request states (0 = no such request)
OPEN: constant(uint8) = 1
LOCKED: constant(uint8) = 2
FULFILLED: constant(uint8) = 3
REFUNDED: constant(uint8) = 4

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

VERIFIER: public(immutable(IVerifier))
balances: public(HashMap[address, uint256])
requests: public(HashMap[bytes32, Request])


@deploy
def __init__(verifier: IVerifier):
    VERIFIER = verifier


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
