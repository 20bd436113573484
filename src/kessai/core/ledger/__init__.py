"""The double-entry ledger: every yen that moves between buyers' institutions, Kessai and merchants.

`accounts` names the accounts, `journal.post` is the one writer of entries, `postings` says which
entries a money event makes (a capture, a refund, an institution's remittance), `check` proves the
invariants. Statements (支払明細) close entries; they live in `kessai.core.statements`.
"""
