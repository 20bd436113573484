"""Payout statements (支払明細): fees, the close that turns a merchant's open ledger entries into a
numbered, immutable statement, and its per-payment detail CSV."""
