"""A merchant's pool of virtual accounts: opened at the receiving bank, taken by claims, let go,
closed. Numbers are unique bank-wide (bank, branch, number), whoever's pool they are in.

Production pools are filled by the operator (`kessai va pool add`); a sandbox merchant's pool is
filled by itself when a claim finds it empty (`claims.apply`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from kessai.connectors.base import VirtualAccountNumber
from kessai.core.context import Core, MerchantRef
from kessai.core.payments.vaccount.models import VirtualAccount
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

SANDBOX_BATCH = 10  # accounts a sandbox pool grows by when it runs dry
MAX_ADD = 10_000  # accounts one `pool add` may open
_KEY = re.compile(r"(\d{4})-(\d{3})-(\d{7})")


@dataclass(frozen=True, slots=True)
class AccountKey:
    """How a transfer, an operator or a 070 names an account: bank, branch and number."""

    bank_code: str
    branch_code: str
    number: str

    @classmethod
    def parse(cls, text: str) -> AccountKey:
        """`BANK-BRANCH-NUMBER`, e.g. `0033-801-1234567`."""
        match = _KEY.fullmatch(text.strip())
        if match is None:
            raise InvalidRequest(
                "P010", field="account", message="an account is BANK-BRANCH-NUMBER (4-3-7 digits)"
            )
        return cls(*match.groups())

    def __str__(self) -> str:
        return f"{self.bank_code}-{self.branch_code}-{self.number}"


@dataclass(frozen=True, slots=True)
class AccountView:
    key: str
    merchant_id: int
    bank_code: str
    bank_name: str
    branch_code: str
    branch_name: str
    deposit_kind: str
    number: str
    fixed: bool
    fix_numbering_registered: str
    payment_id: int | None  # the open claim holding it
    closed: bool

    @classmethod
    def of(cls, row: VirtualAccount) -> AccountView:
        return cls(
            key=row.key,
            merchant_id=row.merchant_id,
            bank_code=row.bank_code,
            bank_name=row.bank_name,
            branch_code=row.branch_code,
            branch_name=row.branch_name,
            deposit_kind=row.deposit_kind,
            number=row.number,
            fixed=row.fixed,
            fix_numbering_registered=row.fix_numbering_registered,
            payment_id=row.payment_id,
            closed=row.closed_at is not None,
        )


def add_accounts(core: Core, merchant: MerchantRef, count: int) -> list[AccountView]:
    """Open `count` new accounts at the merchant's bank and put them in its pool. A number that
    is already someone's (the bank reusing one) is skipped and another asked for."""
    if not 0 < count <= MAX_ADD:
        raise InvalidRequest(message=f"count must be 1–{MAX_ADD}")
    bank = core.virtual_bank_for(merchant)
    added: list[AccountView] = []
    for _ in range(3):
        wanted = count - len(added)
        if wanted == 0:
            break
        opened = bank.open_accounts(idempotency_key=uuid.uuid4().hex, count=wanted)
        with core.sessions.begin() as session:
            rows = _new_rows(session, merchant.id, opened, core.now_for(merchant))
            session.add_all(rows)
            session.flush()
            added += [AccountView.of(row) for row in rows]
    return added


def _new_rows(
    session: Session, merchant_id: int, opened: list[VirtualAccountNumber], now: datetime
) -> list[VirtualAccount]:
    keys = {(a.bank_code, a.branch_code, a.number): a for a in opened}
    columns = (VirtualAccount.bank_code, VirtualAccount.branch_code, VirtualAccount.number)
    query = select(*columns).where(tuple_(*columns).in_(list(keys)))
    taken = {tuple(row) for row in session.execute(query)}
    return [
        VirtualAccount(
            merchant_id=merchant_id,
            bank_code=a.bank_code,
            bank_name=a.bank_name,
            branch_code=a.branch_code,
            branch_name=a.branch_name,
            deposit_kind=a.deposit_kind,
            number=a.number,
            fixed=False,
            fix_numbering_registered="",
            created_at=now,
            updated_at=now,
        )
        for key, a in keys.items()
        if key not in taken
    ]


def take_free(session: Session, merchant_id: int) -> VirtualAccount | None:
    """A free account of the merchant's rotating pool, locked; the one let go longest ago first.
    Concurrent claims skip each other's locked rows, so they never share an account."""
    query = (
        select(VirtualAccount)
        .where(
            VirtualAccount.merchant_id == merchant_id,
            VirtualAccount.fixed.is_(False),
            VirtualAccount.payment_id.is_(None),
            VirtualAccount.closed_at.is_(None),
        )
        .order_by(VirtualAccount.released_at.asc().nulls_first(), VirtualAccount.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.scalar(query)


def find(session: Session, key: AccountKey) -> VirtualAccount | None:
    """The account named by `key`, locked for this transaction; None if no pool has it."""
    query = (
        select(VirtualAccount)
        .where(
            VirtualAccount.bank_code == key.bank_code,
            VirtualAccount.branch_code == key.branch_code,
            VirtualAccount.number == key.number,
        )
        .with_for_update()
    )
    return session.scalar(query)


def lock(session: Session, account_id: int) -> VirtualAccount:
    query = select(VirtualAccount).where(VirtualAccount.id == account_id).with_for_update()
    account = session.scalar(query)
    assert account is not None, f"virtual account {account_id} vanished"
    return account


def release(account: VirtualAccount, now: datetime) -> None:
    """The claim holding `account` is over (40 or 16): a rotating account is free again; a fixed
    one waits for its customer's next claim."""
    account.payment_id = None
    account.released_at = now
    account.updated_at = now


def close_account(core: Core, key: AccountKey) -> AccountView:
    """Take an account out of use for good (the operator's). Transfers to it are still recorded."""
    with core.sessions.begin() as session:
        account = find(session, key)
        if account is None:
            raise NotFound(message=f"no pool has the account {key}")
        if account.payment_id is not None:
            raise InvalidState(
                message=f"account {key} holds the open claim of payment {account.payment_id}"
            )
        if account.closed_at is None:
            account.closed_at = account.updated_at = core.clock.now()
        return AccountView.of(account)


def list_accounts(core: Core, merchant_id: int) -> list[AccountView]:
    with core.sessions() as session:
        rows = session.scalars(
            select(VirtualAccount)
            .where(VirtualAccount.merchant_id == merchant_id)
            .order_by(VirtualAccount.id)
        )
        return [AccountView.of(row) for row in rows]
