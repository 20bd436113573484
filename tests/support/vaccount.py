"""Helpers for virtual-account tests: the 070 telegram, transfers as the bank reports them, rows."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.connectors.base import IncomingTransfer
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments.models import Payment
from kessai.core.payments.vaccount.models import VirtualAccount, VirtualAccountTransfer
from tests.support.telegrams import Reply, send

PATH = "/n/virtualaccount/request"


def apply(server: str, merchant: NewMerchant, trading_id: str = "VA1", **extra: str | int) -> Reply:
    fields: dict[str, str | int] = {
        "claim_amount": 10000,
        "billing_name": "山田太郎",
        "billing_name_kana": "ﾔﾏﾀﾞ ﾀﾛｳ",
    } | extra
    return send(server, merchant, "070", path=PATH, trading_id=trading_id, **fields)


def account_of(reply: Reply) -> tuple[str, str, str]:
    return (
        reply["virtual_account_bank_code"],
        reply["virtual_account_branch_code"],
        reply["virtual_account_number"],
    )


def bank_transfer(
    account: tuple[str, str, str],
    amount: int,
    *,
    at: datetime,
    reference: str | None = None,
    payer: str = "ﾔﾏﾀﾞ ﾀﾛｳ",
) -> IncomingTransfer:
    """A transfer as the receiving bank reports it."""
    bank, branch, number = account
    return IncomingTransfer(
        reference=reference or f"T-{uuid.uuid4().hex}",
        bank_code=bank,
        branch_code=branch,
        account_number=number,
        amount=amount,
        transferred_at=at,
        payer_name=payer,
        payer_bank_name="ミツビシＵＦＪ",
        payer_branch_name="ホンテン",
    )


def payment_count(runtime: Runtime, merchant: NewMerchant) -> int:
    with runtime.core.sessions() as session:
        query = select(func.count()).where(Payment.merchant_id == merchant.merchant_id)
        return int(session.scalar(query.select_from(Payment)) or 0)


def account_row(runtime: Runtime, account: tuple[str, str, str]) -> VirtualAccount:
    bank, branch, number = account
    with runtime.core.sessions() as session:
        row = session.scalar(
            select(VirtualAccount).where(
                VirtualAccount.bank_code == bank,
                VirtualAccount.branch_code == branch,
                VirtualAccount.number == number,
            )
        )
        assert row is not None
        return row


def transfers_to(runtime: Runtime, account: tuple[str, str, str]) -> list[VirtualAccountTransfer]:
    bank, branch, number = account
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(VirtualAccountTransfer)
                .where(
                    VirtualAccountTransfer.bank_code == bank,
                    VirtualAccountTransfer.branch_code == branch,
                    VirtualAccountTransfer.account_number == number,
                )
                .order_by(VirtualAccountTransfer.id)
            )
        )
