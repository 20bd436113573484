"""Bank-transfer virtual accounts (銀行振込仮想口座, telegram 070; paygent-protocol.md §1.5 070, §3.7).

A merchant has a pool of account numbers at the receiving bank (`pool`). A claim (070, `claims`)
takes one: rotating numbering takes a free one for this payment alone; fixed numbering gives a
customer an account for good. Transfers the bank reports (`transfers`) are matched by account
against the claim holding it and cleared with a `clear_detail`; a transfer nobody claimed is kept
and shown to the merchant as a payment of its own (05). Past the deadline the claim expires (12),
past the contractual grace (`terms`) it closes (16) and its account goes back to the pool.

Lock order, everywhere: the account's row, then the payment's.
"""

PAYMENT_TYPE = "07"
