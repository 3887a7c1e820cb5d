"""Settlement: what must be true of a receipt before money moves.

    settlement.local   check_receipt(): verify a receipt with the Python verifier and match
                       its claim to the job it is meant to settle (image id, input digest,
                       cycle limit); raise ReceiptRejected otherwise.
    settlement.chain   the on-chain mode (prototype): compile the Vyper contracts under
                       contracts/ (cached in var/vyper-cache/), deploy them, MarketClient's
                       typed calls; the embedded eth-tester chain unless ZKMIPS_CHAIN_RPC_URL.
    settlement.claim_digest  the claim digest that contracts/market.vy asks its verifier about.

The marketplace's ledger (who is paid what, when) lives with its database in
marketplace.ledger; this package knows nothing of Django.
"""
