# pragma version ~=0.4.3
"""
@title TEST DOUBLE: a verifier whose owner marks claims as verified
@notice For tests of market.vy only; it verifies nothing. Never deploy it outside tests:
        whoever owns it can make the market pay for any claim.
"""

owner: public(address)
verified: public(HashMap[bytes32, bool])


@deploy
def __init__():
    self.owner = msg.sender


@external
def mark_verified(claim_digest: bytes32):
    assert msg.sender == self.owner, "only the owner"
    self.verified[claim_digest] = True
