"""Virtual accounts, the claims holding them, every transfer received, and per-merchant terms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kessai.db.base import Base, UTCDateTime
from kessai.db.types import BigID


class VirtualAccount(Base):
    """One account number of the receiving bank, in a merchant's pool."""

    __tablename__ = "virtual_accounts"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    bank_code: Mapped[str] = mapped_column(String(4))
    bank_name: Mapped[str] = mapped_column(String(64))
    branch_code: Mapped[str] = mapped_column(String(3))
    branch_name: Mapped[str] = mapped_column(String(64))
    deposit_kind: Mapped[str] = mapped_column(String(1))  # 1 普通, 2 当座, 4 貯蓄
    number: Mapped[str] = mapped_column(String(7))
    # Fixed numbering (numbering_type 1): one customer's account for good, never back in the pool.
    fixed: Mapped[bool] = mapped_column(Boolean, default=False)
    fix_numbering_registered: Mapped[str] = mapped_column(String(200), default="")
    # The open claim (status 10 or 12) a transfer to this account clears; None: free.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True)
    # When the last claim let go: free accounts are reused oldest first, so that a late second
    # transfer for an old claim is unlikely to meet a new one.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("bank_code", "branch_code", "number"),
        Index("ix_virtual_accounts_merchant_free", "merchant_id", "fixed", "payment_id"),
    )

    @property
    def key(self) -> str:
        """`BANK-BRANCH-NUMBER`, as operators and the sandbox tool name an account."""
        return f"{self.bank_code}-{self.branch_code}-{self.number}"


class VirtualAccountClaim(Base):
    """A virtual-account payment's hold on its account, and when it closes (16)."""

    __tablename__ = "virtual_account_claims"

    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id"), primary_key=True, autoincrement=False
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"), index=True)
    # Deadline + grace: a claim still open then goes to 16 and lets its account go.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class VirtualAccountTransfer(Base):
    """Every transfer the bank reported, matched or not: money received is never lost."""

    __tablename__ = "virtual_account_transfers"

    id: Mapped[int] = mapped_column(BigID, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # the bank's id of it
    # The account's merchant; None when the account is unknown.
    merchant_id: Mapped[int | None] = mapped_column(
        ForeignKey("merchants.id"), nullable=True, index=True
    )
    account_id: Mapped[int | None] = mapped_column(ForeignKey("virtual_accounts.id"), nullable=True)
    # The account as the bank reported it (kept even when no such account exists).
    bank_code: Mapped[str] = mapped_column(String(4))
    branch_code: Mapped[str] = mapped_column(String(3))
    account_number: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    payer_name: Mapped[str] = mapped_column(String(48), default="")  # 振込依頼人名
    payer_bank_name: Mapped[str] = mapped_column(String(64), default="")
    payer_branch_name: Mapped[str] = mapped_column(String(64), default="")
    transferred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # matched (cleared a claim), unclaimed (no open claim: a 05 payment was made for it),
    # closed_account, unknown_account (no payment: for the operator to return or assign).
    outcome: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("payments.id"), nullable=True, index=True
    )
    clear_detail: Mapped[str] = mapped_column(String(2), default="")


class VirtualAccountTerms(Base):
    """A merchant's contract terms for virtual accounts; the defaults apply without a row."""

    __tablename__ = "virtual_account_terms"

    merchant_id: Mapped[int] = mapped_column(
        ForeignKey("merchants.id"), primary_key=True, autoincrement=False
    )
    # A shortfall up to this many yen is cleared as paid in full (clear_detail 02).
    short_tolerance: Mapped[int] = mapped_column(Integer, default=0)
    # Days after the deadline (+2 business days) during which a late transfer still clears.
    grace_days: Mapped[int] = mapped_column(Integer, default=14)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
