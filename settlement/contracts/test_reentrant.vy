# pragma version ~=0.4.3
"""
@title TEST DOUBLE: a market participant that tries to re-enter the market while being paid
@notice For the reentrancy tests of market.vy only. It acts on the market as itself (`act`:
        deposit, lock, submit_optimistic, challenge... any call), so it can be a prover or a
        challenger whose payouts it then withdraws. While `attack` withdraws, its fallback
        re-enters the market once with `reentry` (by default `withdraw(msg.value)`);
        `reentered` records whether that inner call succeeded.
"""

interface Market:
    def deposit(): payable
    def withdraw(amount: uint256): nonpayable

MAX_CALL: constant(uint256) = 1024

MARKET: immutable(Market)
attacking: bool
reentry: Bytes[MAX_CALL]
reentered: public(bool)
attempts: public(uint256)


@deploy
def __init__(market: Market):
    MARKET = market


@external
@payable
def fund():
    extcall MARKET.deposit(value=msg.value)


@external
def act(data: Bytes[MAX_CALL]):
    """Call the market as this contract (reverts with the market's reason)."""
    raw_call(MARKET.address, data)


@external
def attack(amount: uint256, reentry: Bytes[MAX_CALL]):
    """Withdraw `amount`; while being paid, call the market with `reentry` (empty: withdraw again)."""
    self.reentry = reentry
    self.attacking = True
    extcall MARKET.withdraw(amount)
    self.attacking = False


@external
@payable
def __default__():
    if self.attacking:
        self.attacking = False
        self.attempts += 1
        data: Bytes[MAX_CALL] = self.reentry
        if len(data) == 0:
            data = abi_encode(msg.value, method_id=method_id("withdraw(uint256)"))
        ok: bool = raw_call(MARKET.address, data, revert_on_failure=False)
        self.reentered = ok
