"""Reading and changing a merchant's payout settings (the only writer of payout_settings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kessai.core.payouts.accounts import BankAccount, bank_account
from kessai.core.payouts.cycles import PayoutCycle, payout_cycle
from kessai.core.payouts.models import PayoutSettings
from kessai.kit.errors import InvalidRequest


def set_payout_settings(
    session: Session,
    merchant_id: int,
    *,
    now: datetime,
    cycle: str | None = None,
    closing_day: int | None = None,
    payout_day: int | None = None,
    account: str | None = None,
    holder: str | None = None,
) -> PayoutSettings:
    """Set what is given of a merchant's cycle and bank account, checked whole before anything
    changes. A new account needs its holder; a new holder alone keeps the account."""
    row = session.get(PayoutSettings, merchant_id) or PayoutSettings(merchant_id=merchant_id)
    new_cycle = _cycle(row, cycle, closing_day, payout_day)
    new_account = _account(row, account, holder)
    if new_cycle is not None:
        row.cycle, row.closing_day, row.payout_day = (
            new_cycle.kind,
            new_cycle.closing_day,
            new_cycle.payout_day,
        )
    if new_account is not None:
        _store_account(row, new_account)
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def _cycle(
    row: PayoutSettings, kind: str | None, closing_day: int | None, payout_day: int | None
) -> PayoutCycle | None:
    if kind is None and closing_day is None and payout_day is None:
        return None
    if kind is None:
        if row.cycle is None:
            raise InvalidRequest(
                field="payout_cycle", message="set the payout cycle with the closing/payout day"
            )
        kind = row.cycle
        closing_day = row.closing_day if closing_day is None else closing_day
        payout_day = row.payout_day if payout_day is None else payout_day
    return payout_cycle(kind, closing_day, payout_day)


def _account(row: PayoutSettings, account: str | None, holder: str | None) -> BankAccount | None:
    if account is None and holder is None:
        return None
    if account is None:
        stored = stored_account(row)
        if stored is None:
            raise InvalidRequest(
                field="bank_account", message="set the bank account with its account holder"
            )
        return bank_account(stored.label(), holder or "")
    if holder is None:
        raise InvalidRequest(
            field="account_holder",
            message="a bank account needs its account holder (--account-holder, in kana)",
        )
    return bank_account(account, holder)


def _store_account(row: PayoutSettings, account: BankAccount) -> None:
    row.bank_code, row.bank_name = account.bank_code, account.bank_name
    row.branch_code, row.branch_name = account.branch_code, account.branch_name
    row.account_type, row.account_number = account.account_type, account.account_number
    row.account_holder = account.holder


def stored_cycle(row: PayoutSettings | None) -> PayoutCycle | None:
    """The merchant's cycle, or None while none is set."""
    if row is None or row.cycle is None:
        return None
    return payout_cycle(row.cycle, row.closing_day, row.payout_day)


def stored_account(row: PayoutSettings | None) -> BankAccount | None:
    """The account as stored (not re-checked: the transfer file checks it again), or None."""
    if row is None or row.bank_code is None:
        return None
    return BankAccount(
        bank_code=row.bank_code,
        bank_name=row.bank_name or "",
        branch_code=row.branch_code or "",
        branch_name=row.branch_name or "",
        account_type=row.account_type or "",
        account_number=row.account_number or "",
        holder=row.account_holder or "",
    )


def payout_settings(session: Session, merchant_id: int) -> PayoutSettings | None:
    return session.get(PayoutSettings, merchant_id)


def describe(row: PayoutSettings | None) -> dict[str, Any]:
    """The settings as `kessai merchant show --json` prints them (nulls while unset)."""
    cycle, account = stored_cycle(row), stored_account(row)
    return {
        "payout_cycle": cycle.kind if cycle else None,
        "closing_day": cycle.closing_day if cycle else None,
        "payout_day": cycle.payout_day if cycle else None,
        "payout_schedule": cycle.describe() if cycle else None,
        "bank_account": account.label() if account else None,
        "bank_name": account.bank_name if account else None,
        "branch_name": account.branch_name if account else None,
        "account_holder": account.holder if account else None,
    }
