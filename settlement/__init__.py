"""Settlement: what must be true of a receipt before money moves.

    settlement.local   check_receipt(): verify a receipt with the Python verifier and match
                       its claim to the job it is meant to settle (image id, input digest,
                       cycle limit); raise ReceiptRejected otherwise.
    settlement.chain   compile the Vyper contracts under
                       contracts/ (cached in var/vyper-cache/), deploy them, MarketClient's
                       typed calls; the embedded eth-tester chain unless ZKMIPS_CHAIN_RPC_URL.
    settlement.claim_digest  the claim digest that contracts/market.vy asks its verifier about.
    settlement.onchain_verifier  deploy the EVM receipt verifier, verify a receipt step by step.
    settlement.deployment  one deployment (market + verifier) per chain, recorded; attach to it.

The marketplace's ledger (who is paid what, when) lives with its database in
marketplace.ledger; this package knows nothing of Django.
"""

#: The rate between the marketplace's credits and wei in the chain modes: one credit is a
#: micro-ether, so a job's prices and stake mean the same on both sides.
WEI_PER_CREDIT = 10**12
