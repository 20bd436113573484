"""Transfers the receiving bank reports (入金), matched by account against the claim holding it.

Every transfer is recorded, whatever becomes of it, in the same transaction as its effect:
- the account holds an open claim (10, or 12 within the grace) → the claim is cleared, 40 with
  clear_detail 01 exact, 02 short within the merchant's tolerance, 03 short, 04 over;
- the account is the merchant's but nothing is claimed on it → a payment of its own, 40 with
  clear_detail 05 and no trading_id, so the merchant is told (091, push) like any payment;
- the account is closed, or no pool has it → recorded for the operator (`kessai va transfers`).

A short transfer (03) clears the claim too (PAYGENT reports it as 40 with 03): the merchant decides
whether to ask for the rest, which would be a new claim. The account is let go either way.

The account's row lock serialises transfers to one account, and closing its claim: two transfers
at once clear the claim once, and the second is the merchant's 05.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kessai.connectors.base import IncomingTransfer
from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.models import Merchant
from kessai.core.payments import later
from kessai.core.payments.models import Payment
from kessai.core.payments.vaccount import PAYMENT_TYPE, claims, pool
from kessai.core.payments.vaccount.models import VirtualAccount, VirtualAccountTransfer
from kessai.core.payments.vaccount.states import ClearDetail, VaOperation, VaStatus, classify
from kessai.core.payments.vaccount.terms import terms_of
from kessai.kit.errors import InvalidState

MATCHED = "matched"
UNCLAIMED = "unclaimed"
CLOSED_ACCOUNT = "closed_account"
UNKNOWN_ACCOUNT = "unknown_account"
OUTCOMES = (MATCHED, UNCLAIMED, CLOSED_ACCOUNT, UNKNOWN_ACCOUNT)


@dataclass(frozen=True, slots=True)
class TransferView:
    id: int
    reference: str
    merchant_id: int | None
    account: str  # BANK-BRANCH-NUMBER as reported
    amount: int
    payer_name: str
    transferred_at: datetime
    received_at: datetime
    outcome: str
    payment_id: int | None  # the payment it cleared (or made, 05)
    clear_detail: str

    @classmethod
    def of(cls, row: VirtualAccountTransfer) -> TransferView:
        return cls(
            id=row.id,
            reference=row.reference,
            merchant_id=row.merchant_id,
            account=f"{row.bank_code}-{row.branch_code}-{row.account_number}",
            amount=row.amount,
            payer_name=row.payer_name,
            transferred_at=row.transferred_at,
            received_at=row.received_at,
            outcome=row.outcome,
            payment_id=row.payment_id,
            clear_detail=row.clear_detail,
        )


def receive(
    core: Core, transfer: IncomingTransfer, *, for_payment: int | None = None
) -> TransferView:
    """Record `transfer` and clear what it pays. The same transfer reported again answers its
    first record. `for_payment` (the sandbox tool paying one payment): 2004, and nothing
    recorded, unless the transfer would clear exactly that payment."""
    try:
        return _receive(core, transfer, for_payment)
    except IntegrityError:
        with core.sessions() as session:  # reported twice at once: the other report recorded it
            row = _by_reference(session, transfer.reference)
            if row is None:
                raise
            return TransferView.of(row)


def _receive(core: Core, t: IncomingTransfer, for_payment: int | None) -> TransferView:
    with core.sessions.begin() as session:
        account = pool.find(session, pool.AccountKey(t.bank_code, t.branch_code, t.account_number))
        known = _by_reference(session, t.reference)
        if known is not None:
            return TransferView.of(known)
        if account is None or account.closed_at is not None:
            if for_payment is not None:
                raise InvalidState("2004")
            return _unusable_account(core, session, account, t)
        merchant = MerchantRef.of(_merchant(session, account.merchant_id))
        at = later.now(core, merchant)
        claim = claims.open_claim(session, account, at)
        if for_payment is not None and (claim is None or claim.id != for_payment):
            raise InvalidState("2004")
        if claim is None:
            payment = _unclaimed_payment(session, merchant, account, t, at)
            return _record(session, t, account, at.real, UNCLAIMED, payment, ClearDetail.UNCLAIMED)
        tolerance = terms_of(session, merchant.id).short_tolerance
        detail = classify(int(claim.details["claim_amount"]), t.amount, tolerance=tolerance)
        claims.clear(
            session,
            claim,
            amount=t.amount,
            detail=detail,
            at=at,
            operation=VaOperation.TRANSFER,
            transfer=t,
        )
        pool.release(account, at.merchant)
        return _record(session, t, account, at.real, MATCHED, claim, detail)


def _unusable_account(
    core: Core, session: Session, account: VirtualAccount | None, t: IncomingTransfer
) -> TransferView:
    outcome = UNKNOWN_ACCOUNT if account is None else CLOSED_ACCOUNT
    return _record(session, t, account, core.clock.now(), outcome, None, None)


def _merchant(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    assert merchant is not None, f"merchant {merchant_id} of a virtual account vanished"
    return merchant


def _unclaimed_payment(
    session: Session,
    merchant: MerchantRef,
    account: VirtualAccount,
    t: IncomingTransfer,
    at: later.Now,
) -> Payment:
    """Money nobody claimed: a payment of its own, paid at once (40, 05), so it reaches the
    merchant's notices and inquiries instead of sitting unseen."""
    details = claims.account_details(account) | claims.transfer_details(t)
    details |= {
        "claim_amount": 0,
        "clear_detail": ClearDetail.UNCLAIMED.value,
        "excess_deficiency_amount": t.amount,
        "adjustment_amount": 0,
    }
    return later.add(
        session,
        merchant,
        at,
        payment_type=PAYMENT_TYPE,
        trading_id="",
        amount=t.amount,
        site_id="",
        due=None,
        details=details,
        status=VaStatus.PAID.value,
        operation=VaOperation.TRANSFER.value,
        paid_at=t.transferred_at,
    )


def _record(
    session: Session,
    t: IncomingTransfer,
    account: VirtualAccount | None,
    received_at: datetime,
    outcome: str,
    payment: Payment | None,
    detail: ClearDetail | None,
) -> TransferView:
    row = VirtualAccountTransfer(
        reference=t.reference,
        merchant_id=account.merchant_id if account else None,
        account_id=account.id if account else None,
        bank_code=t.bank_code,
        branch_code=t.branch_code,
        account_number=t.account_number,
        amount=t.amount,
        payer_name=t.payer_name,
        payer_bank_name=t.payer_bank_name,
        payer_branch_name=t.payer_branch_name,
        transferred_at=t.transferred_at,
        received_at=received_at,
        outcome=outcome,
        payment_id=payment.id if payment else None,
        clear_detail=detail.value if detail else "",
    )
    session.add(row)
    session.flush()
    return TransferView.of(row)


def _by_reference(session: Session, reference: str) -> VirtualAccountTransfer | None:
    query = select(VirtualAccountTransfer).where(VirtualAccountTransfer.reference == reference)
    return session.scalar(query)


def list_transfers(
    core: Core,
    *,
    merchant_id: int | None = None,
    outcome: str | None = None,
    unassigned: bool = False,
    limit: int = 1000,
) -> list[TransferView]:
    """Recorded transfers, newest first: of one merchant, of one outcome, or (`unassigned`) those
    no payment has — to closed or unknown accounts, waiting for the operator."""
    query = select(VirtualAccountTransfer).order_by(VirtualAccountTransfer.id.desc())
    if merchant_id is not None:
        query = query.where(VirtualAccountTransfer.merchant_id == merchant_id)
    if outcome is not None:
        query = query.where(VirtualAccountTransfer.outcome == outcome)
    if unassigned:
        query = query.where(VirtualAccountTransfer.payment_id.is_(None))
    with core.sessions() as session:
        return [TransferView.of(row) for row in session.scalars(query.limit(limit))]
