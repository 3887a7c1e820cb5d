"""Settlement: what must be true of a receipt before money moves.

    settlement.local   check_receipt(): verify a receipt with the Python verifier and match
                       its claim to the job it is meant to settle (image id, input digest,
                       cycle limit); raise ReceiptRejected otherwise.

The marketplace's ledger (who is paid what, when) lives with its database in
marketplace.ledger; this package knows nothing of Django.
"""
