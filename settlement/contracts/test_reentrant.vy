# pragma version ~=0.4.3
"""
@title TEST DOUBLE: a recipient that tries to withdraw again while being paid
@notice For the reentrancy test of market.vy only. Its fallback re-enters
        `withdraw`; `reentered` records whether that inner call succeeded.
"""

interface Market:
    def deposit(): payable
    def withdraw(amount: uint256): nonpayable

MARKET: immutable(Market)
attacking: bool
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
def attack(amount: uint256):
    self.attacking = True
    extcall MARKET.withdraw(amount)
    self.attacking = False


@external
@payable
def __default__():
    if self.attacking:
        self.attacking = False
        self.attempts += 1
        ok: bool = raw_call(MARKET.address, abi_encode(msg.value, method_id=method_id("withdraw(uint256)")),
                            revert_on_failure=False)
        self.reentered = ok
