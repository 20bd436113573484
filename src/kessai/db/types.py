"""Column types shared by the models."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigID = BigInteger().with_variant(Integer(), "sqlite")

# Yen amounts that add up: a statement's totals, a payout, a ledger entry (a payout is one entry).
# A large merchant's month passes 2^31 yen (2.1 billion), so 64-bit on PostgreSQL; SQLite's INTEGER
# already holds 64 bits.
SumYen = BigInteger().with_variant(Integer(), "sqlite")
